package forms_test

import (
	"encoding/json"
	"fmt"

	"github.com/onewindow/onewindow/shared/forms"
	"github.com/onewindow/onewindow/shared/problem"
)

func Example() {
	schema, err := forms.Compile(json.RawMessage(`{
		"type": "object",
		"required": ["rooms", "address"],
		"properties": {
			"rooms": {"type": "integer", "title": "客房数", "minimum": 1},
			"address": {"type": "object", "required": ["street"], "properties": {"street": {"type": "string"}}}
		}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range schema.Validate(json.RawMessage(`{"rooms": 0, "address": {}}`)) {
		fmt.Println(e.Field, e.Code, e.Message)
	}
	// Output:
	// form.address.street required "street" is required
	// form.rooms minimum 客房数 must be at least 1
}

// Case-submit keeps one cache for all submissions, and adds the form's
// problems to those of the rest of the body.
func ExampleCache() {
	cache := forms.NewCache(0)
	itemSchema := json.RawMessage(`{"required":["shopName"]}`) // an item's formSchema

	schema, err := cache.Schema("SJZ-GA-0001@3", itemSchema)
	if err != nil {
		fmt.Println("the catalogue holds an unusable schema:", err)
		return
	}
	var v problem.Validation
	v.Add("applicant.idNumber", "invalid_id_number", "the check digit is wrong")
	for _, e := range schema.Validate(json.RawMessage(`{}`)) {
		v.Add(e.Field, e.Code, e.Message)
	}
	fmt.Println(v.Err())
	// Output:
	// 422 validation_failed: 2 field(s) failed validation
}
