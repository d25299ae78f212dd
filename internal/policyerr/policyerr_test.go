package policyerr

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/messages"
)

func TestPolicyErrors(t *testing.T) {
	e := New("x.Policy")
	assert.NoError(t, e.Err())
	e.Check(true, "Good", 1, "fine")
	e.Check(false, "Bad", -1, "must not be negative")
	e.Add("Worse", "NaN", "must be a number")

	inner := New("y.Policy")
	inner.Add("Depth", 0, "must be positive")
	e.Nest("Inner", inner.Err())
	e.Nest("Other", errors.New("plain"))
	e.Nest("None", nil)

	err := e.Err()
	assert.ErrorIs(t, err, messages.ErrInvalidPolicy)
	assert.Equal(t, []string{"Bad", "Worse", "Inner.Depth"}, Fields(err))
	var pe *messages.PolicyError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "warden: invalid policy: x.Policy.Bad = -1: must not be negative", pe.Error())
	assert.Contains(t, err.Error(), "x.Policy.Inner.Depth = 0")
	assert.Contains(t, err.Error(), "plain")
	assert.Nil(t, Fields(nil))
}
