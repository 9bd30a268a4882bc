package catalog

import (
	"slices"
	"time"
)

// ExpandedBundle is GET /bundles/{code}: the bundle with its items in full
// and the materials of all of them merged (一表申请: one form, each shared
// material submitted once).
type ExpandedBundle struct {
	Code           string `json:"code"`
	Name           string `json:"name"`
	LeadDepartment string `json:"leadDepartment"`
	// LeadDepartmentName is the lead department's name.
	LeadDepartmentName string `json:"leadDepartmentName"`
	// Items are the bundle's items in full, in the bundle's order. An item
	// code that no longer resolves is left out and listed in MissingItems.
	Items []Item `json:"items"`
	// ItemCodes are the item codes, as GET /bundles lists them.
	ItemCodes    []string         `json:"itemCodes"`
	MissingItems []string         `json:"missingItems,omitempty"`
	PromisedDays int              `json:"promisedDays"`
	Materials    []MergedMaterial `json:"materials"`
	Status       Status           `json:"status"`
	Version      int              `json:"version"`
	UpdatedAt    time.Time        `json:"updatedAt"`
}

// MergedMaterial is one material of a bundle's merged list: all materials
// with the same code across the bundle's items, listed once.
type MergedMaterial struct {
	Code string `json:"code"`
	// Name is the name in the first item (in bundle order) that lists it.
	Name string `json:"name"`
	// Required is true when any item requires it.
	Required bool `json:"required"`
	// MaxBytes is the smallest of the items' limits, so that one file
	// satisfies every item.
	MaxBytes int64 `json:"maxBytes"`
	// ContentTypes are the types every listing item accepts (their
	// intersection), in the first item's order. Empty means the items
	// disagree and no single file satisfies them all.
	ContentTypes []string `json:"contentTypes"`
	// LicenseType is the first license type any listing item links.
	LicenseType string `json:"licenseType,omitempty"`
	// Items are the codes of the items that list the material, in bundle
	// order; RequiredBy those that require it.
	Items      []string `json:"items"`
	RequiredBy []string `json:"requiredBy"`
}

// ExpandBundle returns the bundle with code expanded, or false when there
// is none.
func (s *Snapshot) ExpandBundle(code string) (ExpandedBundle, bool) {
	b, ok := s.bundles[code]
	if !ok {
		return ExpandedBundle{}, false
	}
	out := ExpandedBundle{
		Code: b.Code, Name: b.Name, LeadDepartment: b.LeadDepartment,
		ItemCodes: b.Items, PromisedDays: b.PromisedDays,
		Status: b.Status, Version: b.Version, UpdatedAt: b.UpdatedAt,
		Items: make([]Item, 0, len(b.Items)),
	}
	if d, ok := s.departments[b.LeadDepartment]; ok {
		out.LeadDepartmentName = d.Name
	}
	for _, ic := range b.Items {
		it, ok := s.items[ic]
		if !ok {
			out.MissingItems = append(out.MissingItems, ic)
			continue
		}
		out.Items = append(out.Items, *it)
	}
	out.Materials = MergeMaterials(out.Items)
	return out, true
}

// MergeMaterials merges the materials of items (in order): one entry per
// material code, in order of first appearance, combined as MergedMaterial
// describes.
func MergeMaterials(items []Item) []MergedMaterial {
	out := []MergedMaterial{}
	at := map[string]int{}
	for _, it := range items {
		for _, m := range it.Materials {
			i, seen := at[m.Code]
			if !seen {
				at[m.Code] = len(out)
				mm := MergedMaterial{Code: m.Code, Name: m.Name, MaxBytes: m.MaxBytes,
					ContentTypes: slices.Clone(m.ContentTypes), LicenseType: m.LicenseType,
					Items: []string{}, RequiredBy: []string{}}
				out = append(out, mm)
				i = len(out) - 1
			} else {
				mm := &out[i]
				mm.MaxBytes = min(mm.MaxBytes, m.MaxBytes)
				mm.ContentTypes = slices.DeleteFunc(mm.ContentTypes, func(ct string) bool {
					return !slices.Contains(m.ContentTypes, ct)
				})
				if mm.LicenseType == "" {
					mm.LicenseType = m.LicenseType
				}
			}
			mm := &out[i]
			if !slices.Contains(mm.Items, it.Code) {
				mm.Items = append(mm.Items, it.Code)
			}
			if m.Required {
				mm.Required = true
				if !slices.Contains(mm.RequiredBy, it.Code) {
					mm.RequiredBy = append(mm.RequiredBy, it.Code)
				}
			}
		}
	}
	return out
}
