package catalog

import (
	"time"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, shanghai)

func mat(code, name string, required bool, maxBytes int64, types ...string) Material {
	return Material{Code: code, Name: name, Required: required, MaxBytes: maxBytes, ContentTypes: types}
}

// fixtureRecords is a small catalogue with the homestay bundle's shape.
func fixtureRecords() Records {
	item := func(code, name, kind, dept string, mats ...Material) Item {
		return Item{Code: code, Name: name, Kind: kind, Department: DepartmentRef{Code: dept}, Region: "130100",
			LegalDays: 20, PromisedDays: 5, AcceptDays: 5, Materials: mats, Status: StatusPublished, Version: 1, UpdatedAt: t0}
	}
	yyzz := mat("M-YYZZ", "营业执照", true, 5<<20, "application/pdf", "image/jpeg")
	sfz := mat("M-SFZ", "法定代表人身份证明", true, 2<<20, "application/pdf", "image/jpeg", "image/png")
	abolished := item("X-OLD", "食品旧事项", "行政许可", "130000-SCJG")
	abolished.Status = StatusAbolished
	return Records{
		Departments: []Department{
			{Code: "130100-GA", Name: "石家庄市公安局", Region: "130100", WebhookSecret: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", Version: 1},
			{Code: "130100-XZSP", Name: "石家庄市行政审批局", Region: "130100", Version: 1},
			{Code: "130000-SCJG", Name: "河北省市场监督管理局", Region: "130000", Version: 1},
			{Code: "130000-XF", Name: "河北省消防救援总队", Region: "130000", Version: 1},
		},
		LicenseTypes: []LicenseType{
			{Code: "LT-YYZZ", Name: "营业执照", Department: "130000-SCJG", Status: StatusPublished, Version: 1},
			{Code: "LT-TZHY", Name: "特种行业许可证", Department: "130100-GA", Status: StatusPublished, Version: 1},
		},
		Items: []Item{
			item("SJZ-GA-TZHY-001", "旅馆业特种行业许可证核发", "行政许可", "130100-GA", yyzz, sfz,
				mat("M-PMT", "旅馆平面图", true, 10<<20, "application/pdf", "image/png")),
			item("SJZ-XZSP-GGWS-001", "公共场所卫生许可", "行政许可", "130100-XZSP", yyzz,
				mat("M-JKZM", "从业人员健康证明", true, 5<<20, "application/pdf"),
				mat("M-SPAQ", "食品安全承诺书", false, 2<<20, "application/pdf")),
			item("HB-SCJG-SPJY-001", "食品经营许可", "行政许可", "130000-SCJG", sfz,
				mat("M-YYZZ", "营业执照副本", true, 2<<20, "image/jpeg", "image/png"),
				mat("M-PMT", "经营场所布局图", false, 5<<20, "application/pdf")),
			item("HB-SCJG-XCY-001", "食品小餐饮登记", "行政确认", "130000-SCJG", yyzz),
			item("HB-SCJG-SPBA-001", "食品经营备案（仅销售预包装食品）", "其他行政权力", "130000-SCJG", yyzz),
			item("HB-XF-JCHG-001", "公众聚集场所投入使用、营业前消防安全检查", "行政许可", "130000-XF", yyzz),
			item("SJZ-GA-HZ-001", "普通护照签发 Passport", "公共服务", "130100-GA"),
			abolished,
		},
		Bundles: []Bundle{
			{Code: "SJZ-YJS-MINSU", Name: "民宿一件事", LeadDepartment: "130100-XZSP", PromisedDays: 10,
				Items: []string{"SJZ-GA-TZHY-001", "SJZ-XZSP-GGWS-001", "HB-SCJG-SPJY-001"}, Status: StatusPublished, Version: 3},
			{Code: "SJZ-YJS-CANYIN", Name: "开办餐饮店一件事", LeadDepartment: "130100-XZSP", PromisedDays: 10,
				Items: []string{"HB-SCJG-SPJY-001", "HB-XF-JCHG-001"}, Status: StatusPublished, Version: 1},
		},
		ScopeEntries: []ScopeEntry{
			{Code: "SC-1301", Name: "食品销售", Domain: "食品", Status: StatusPublished, Version: 1,
				Expressions: []Expression{{"A", "赵县雪花梨销售"}, {"B", "藁城宫面销售"}}},
			{Code: "SC-1040", Name: "药品零售", Domain: "生物医药", Status: StatusPublished, Version: 1,
				Expressions: []Expression{{"A", "中药饮片零售"}}},
			{Code: "SC-6110", Name: "住宿服务", Domain: "文化旅游", Status: StatusPublished, Version: 1,
				Expressions: []Expression{{"A", "乡村民宿经营"}, {"B", "正定古城精品民宿"}}},
			{Code: "SC-OLD", Name: "旧条目", Domain: "食品", Status: StatusAbolished, Version: 2,
				Expressions: []Expression{{"A", "旧表述"}}},
		},
	}
}

func fixtureSnapshot() *Snapshot { return NewSnapshot(7, fixtureRecords()) }
