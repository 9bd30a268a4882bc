package function

import (
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
)

// searchItems: GET /items?q=&department=&region=&kind=&status=&limit=&cursor=
func searchItems(snap *catalog.Snapshot, r *httpx.Request, st catalog.StatusFilter, p catalog.Page) (catalog.Result[*catalog.Item], error) {
	return snap.SearchItems(catalog.ItemQuery{Q: r.Query.Get("q"), Department: r.Query.Get("department"),
		Region: r.Query.Get("region"), Kind: r.Query.Get("kind"), Status: st}, p)
}
