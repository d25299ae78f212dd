// Package policyerr collects the invalid fields of a policy into one
// error. Each field's error is a *messages.PolicyError, so the joined
// error matches messages.ErrInvalidPolicy and names every bad field.
package policyerr

import (
	"errors"

	"github.com/warden-go/warden/messages"
)

// Errors collects the invalid fields of one policy. Its zero value is
// ready to use; it is not safe for concurrent use.
type Errors struct {
	policy string
	errs   []error
}

// New starts a collection for the named policy type.
func New(policy string) *Errors { return &Errors{policy: policy} }

// Add records that field holds value, which is invalid for reason.
func (p *Errors) Add(field string, value any, reason string) {
	p.errs = append(p.errs, &messages.PolicyError{Policy: p.policy, Field: field, Value: value, Reason: reason})
}

// Check records the field as invalid when ok is false.
func (p *Errors) Check(ok bool, field string, value any, reason string) {
	if !ok {
		p.Add(field, value, reason)
	}
}

// Nest adds the errors of a nested policy, prefixing their field names.
func (p *Errors) Nest(prefix string, err error) {
	if err == nil {
		return
	}
	for _, e := range Flatten(err) {
		var pe *messages.PolicyError
		if errors.As(e, &pe) {
			c := *pe
			c.Field = prefix + "." + c.Field
			c.Policy = p.policy
			p.errs = append(p.errs, &c)
			continue
		}
		p.errs = append(p.errs, e)
	}
}

// Err returns nil when no field was invalid, else every error joined.
func (p *Errors) Err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return errors.Join(p.errs...)
}

// Fields returns the names of the invalid fields recorded so far, for
// messages and tests.
func Fields(err error) []string {
	var out []string
	for _, e := range Flatten(err) {
		var pe *messages.PolicyError
		if errors.As(e, &pe) {
			out = append(out, pe.Field)
		}
	}
	return out
}

// Flatten returns the errors joined in err (errors.Join, at any depth),
// or err itself.
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	return []error{err}
}
