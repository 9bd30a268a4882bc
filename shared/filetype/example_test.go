package filetype_test

import (
	"fmt"

	"github.com/onewindow/onewindow/shared/filetype"
)

func ExampleMatches() {
	// The first filetype.HeadBytes bytes of an uploaded object.
	head := []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	fmt.Println(filetype.Sniff(head))
	fmt.Println(filetype.Matches("application/pdf", head))
	fmt.Println(filetype.Matches("image/png", head))
	// Output:
	// application/pdf
	// true
	// false
}
