package function

import (
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
)

// listLicenseTypes: GET /license-types?department=&status=&limit=&cursor=
func listLicenseTypes(snap *catalog.Snapshot, r *httpx.Request, st catalog.StatusFilter, p catalog.Page) (catalog.Result[*catalog.LicenseType], error) {
	return snap.LicenseTypes(catalog.LicenseTypeQuery{Department: r.Query.Get("department"), Status: st}, p)
}
