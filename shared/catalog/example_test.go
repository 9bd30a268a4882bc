package catalog_test

import (
	"context"
	"fmt"

	"github.com/onewindow/onewindow/shared/catalog"
)

// A function other than catalog-lookup reads the catalogue through a
// Catalog opened once per process: catalog.Open(s.DB(), catalog.Config{}).
// Here a fixed snapshot stands in for the database, as in unit tests.
func ExampleCatalog_Item() {
	cat := catalog.Fixed(catalog.NewSnapshot(1, catalog.Records{
		Departments: []catalog.Department{{Code: "130100-GA", Name: "石家庄市公安局", Region: "130100",
			WebhookSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
		Items: []catalog.Item{{Code: "SJZ-GA-TZHY-001", Name: "旅馆业特种行业许可证核发", Kind: "行政许可",
			Department: catalog.DepartmentRef{Code: "130100-GA"}, Region: "130100",
			LegalDays: 20, PromisedDays: 5, AcceptDays: 5, Status: catalog.StatusPublished, Version: 1}},
	}))
	ctx := context.Background()
	item, ok, err := cat.Item(ctx, "SJZ-GA-TZHY-001")
	if err != nil || !ok {
		fmt.Println("unknown_item")
		return
	}
	dept, _, _ := cat.Department(ctx, item.Department.Code)
	fmt.Println(item.Name, item.Department.Name, item.AcceptDays, item.Status)
	fmt.Println("secret set:", dept.WebhookSecretSet)
	// Output:
	// 旅馆业特种行业许可证核发 石家庄市公安局 5 published
	// secret set: true
}

// One- and two-character Chinese queries rank name matches first.
func ExampleSnapshot_SearchItems() {
	s := catalog.NewSnapshot(1, catalog.Records{Items: []catalog.Item{
		{Code: "A1", Name: "公共场所卫生许可", Status: catalog.StatusPublished,
			Materials: []catalog.Material{{Code: "M1", Name: "食品安全管理制度"}}},
		{Code: "A2", Name: "食品经营许可", Status: catalog.StatusPublished},
		{Code: "A3", Name: "食品小餐饮登记", Status: catalog.StatusPublished},
	}})
	res, _ := s.SearchItems(catalog.ItemQuery{Q: "食品"}, catalog.Page{Limit: 50})
	for _, it := range res.Items {
		fmt.Println(it.Code, it.Name)
	}
	// Output:
	// A2 食品经营许可
	// A3 食品小餐饮登记
	// A1 公共场所卫生许可
}
