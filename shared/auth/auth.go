// Package auth authenticates OneWindow's callers (contract section 1): every
// caller is an app with a secret, roles and, for department apps, the
// departments it acts for. Requests are signed with HMAC-SHA256 over seven
// lines; a Verifier checks the signature, the timestamp window and, through
// a NonceGuard shared by every replica, that a non-GET request is not a replay.
package auth

import (
	"slices"
)

// Role is what an app may do. The six roles of the contract:
type Role string

const (
	// RolePlatform: portals, mobile and WeChat halls, self-service terminals.
	RolePlatform Role = "platform"
	// RoleDepartment: department business systems and hall windows.
	RoleDepartment Role = "department"
	// RoleSupervisor: the supervision office (cards, statistics).
	RoleSupervisor Role = "supervisor"
	// RoleAdmin: the platform's operators (catalogue, calendars, apps).
	RoleAdmin Role = "admin"
	// RolePaymentProvider: banks and payment channels calling payment-callback.
	RolePaymentProvider Role = "payment_provider"
	// RoleLogisticsProvider: couriers calling logistics-callback.
	RoleLogisticsProvider Role = "logistics_provider"
)

// Roles lists every valid role.
var Roles = []Role{RolePlatform, RoleDepartment, RoleSupervisor, RoleAdmin, RolePaymentProvider, RoleLogisticsProvider}

// Valid reports whether r is one of the contract's roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// App is an authenticated caller as route handlers see it: never its secret.
type App struct {
	ID    string
	Roles []Role
	// Departments are the department codes a department app acts for;
	// empty for other roles.
	Departments []string
	// Channels bind a provider app to what it may touch: carrier codes
	// (EMS, SF) for a logistics provider, payment channels (unionpay) for
	// a payment provider. Empty: not bound.
	Channels []string
}

// BoundTo reports whether a may act for channel: an unbound app for any,
// a bound one for its own channels only.
func (a App) BoundTo(channel string) bool {
	return len(a.Channels) == 0 || slices.Contains(a.Channels, channel)
}

// HasRole reports whether the app holds any of roles.
func (a App) HasRole(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(a.Roles, r) {
			return true
		}
	}
	return false
}

// ActsFor reports whether a is a department app acting for department code.
func (a App) ActsFor(department string) bool {
	return department != "" && a.HasRole(RoleDepartment) && slices.Contains(a.Departments, department)
}

// Oversees reports whether a sees every record: supervisors and admins.
func (a App) Oversees() bool { return a.HasRole(RoleSupervisor, RoleAdmin) }
