package serial_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/serial"
)

func ExampleParse() {
	s, err := serial.Parse("13010012026112200000013")
	fmt.Println(s.Region, s.Channel, s.Date, s.Sequence, err)

	_, err = serial.Parse("13010012026112200000014")
	fmt.Println(err.(*serial.ParseError).Reason)
	// Output:
	// 130100 online 2026-11-22 1 <nil>
	// check_character
}

func ExampleSerial_String() {
	s := serial.Serial{Region: "130100", Channel: serial.Online, Date: serial.Date{Year: 2026, Month: time.November, Day: 22}, Sequence: 17}
	fmt.Println(s)
	// Output: 13010012026112200000179
}

// A function creates one allocator per process and draws serials from it;
// case-submit then writes its case in its own transaction.
func ExampleAllocator() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://localhost/onewindow")
	if err != nil {
		panic(err)
	}
	alloc, err := serial.NewAllocator(pool, serial.Config{})
	if err != nil {
		panic(err)
	}
	defer alloc.Close()

	serials, err := alloc.Issue(ctx, "130100", serial.Online, 1)
	if err != nil {
		panic(err) // a *problem.Problem for bad arguments, else an outage
	}
	fmt.Println(serials[0])
}
