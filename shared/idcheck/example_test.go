package idcheck_test

import (
	"errors"
	"fmt"

	"github.com/onewindow/onewindow/shared/idcheck"
)

func ExampleUSCC() {
	fmt.Println(idcheck.USCC("91350100M000100Y43"))
	err := idcheck.USCC("91350100M000100Y44")
	fmt.Println(errors.Is(err, idcheck.ErrCheckCharacter), idcheck.CodeOf(err))
	// Output:
	// <nil>
	// true check_character
}

// The check character of the contract's example serial 13010012026112200000013.
func Example_mod11() {
	c, _ := idcheck.Mod11_2("1301001202611220000001")
	fmt.Printf("%c\n", c)
	// Output: 3
}

func ExampleResidentID() {
	err := idcheck.ResidentID("110105194912310021")
	fmt.Println(idcheck.CodeOf(err))
	// Output: check_digit
}
