package payments

// SetBeforeCommit makes l run f in every processing transaction just
// before it commits; an error from f rolls the transaction back, as a
// crash or a lost connection would.
func SetBeforeCommit(l *Ledger, f func() error) { l.testHooks.beforeCommit = f }
