package breaker

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warden-go/warden/internal/policyerr"
	"github.com/warden-go/warden/messages"
)

func TestPresets(t *testing.T) {
	db := Database()
	assert.Equal(t, 3, db.FailureThreshold)
	assert.Equal(t, 30*time.Second, db.OpenTimeout)
	api := ExternalAPI()
	assert.Equal(t, 5, api.FailureThreshold)
	assert.Equal(t, 60*time.Second, api.OpenTimeout)
	require.NoError(t, db.Validate())
	require.NoError(t, api.Validate())
}

func TestDefaults(t *testing.T) {
	d := Policy{}.withDefaults()
	assert.Equal(t, DefaultFailureThreshold, d.FailureThreshold)
	assert.Equal(t, DefaultOpenTimeout, d.OpenTimeout)
	assert.Equal(t, 1.0, d.OpenTimeoutMultiplier)
	assert.Equal(t, DefaultOpenTimeout, d.MaxOpenTimeout)
	assert.Equal(t, 1, d.HalfOpenProbes)
	assert.Equal(t, 1, d.SuccessesToClose)
	assert.Equal(t, DefaultOpenTimeout, d.MaxHalfOpenWait)
	assert.Equal(t, DefaultWindowSize, d.WindowSize)
	assert.Equal(t, DefaultMinimumCalls, d.MinimumCalls)

	rateOnly := Policy{FailureRateThreshold: 0.5}.withDefaults()
	assert.Zero(t, rateOnly.FailureThreshold, "a rate rule alone turns the consecutive rule off")

	small := Policy{WindowSize: 5}.withDefaults()
	assert.Equal(t, 5, small.MinimumCalls, "MinimumCalls follows a small window")

	grow := Policy{OpenTimeout: time.Second, OpenTimeoutMultiplier: 2}.withDefaults()
	assert.Equal(t, 32*time.Second, grow.MaxOpenTimeout)

	probes := Policy{HalfOpenProbes: 4}.withDefaults()
	assert.Equal(t, 4, probes.SuccessesToClose)
}

func TestValidateRejectsEachBadField(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		p      Policy
		fields []string
	}{
		{"negative threshold", Policy{FailureThreshold: -1}, []string{"FailureThreshold"}},
		{"rate above one", Policy{FailureRateThreshold: 1.5}, []string{"FailureRateThreshold"}},
		{"negative rate", Policy{FailureRateThreshold: -0.1}, []string{"FailureRateThreshold"}},
		{"NaN rate", Policy{FailureRateThreshold: nan}, []string{"FailureRateThreshold"}},
		{"NaN slow rate", Policy{SlowCallRateThreshold: nan}, []string{"SlowCallRateThreshold"}},
		{"slow rate without duration", Policy{SlowCallRateThreshold: 0.5}, []string{"SlowCallDuration"}},
		{"negative slow duration", Policy{SlowCallDuration: -time.Second}, []string{"SlowCallDuration"}},
		{"negative minimum", Policy{MinimumCalls: -3}, []string{"MinimumCalls"}},
		{"minimum above window", Policy{MinimumCalls: 11, WindowSize: 10}, []string{"MinimumCalls"}},
		{"negative window", Policy{WindowSize: -1}, []string{"WindowSize"}},
		{"huge window", Policy{WindowSize: 1 << 21}, []string{"WindowSize"}},
		{"negative window duration", Policy{WindowDuration: -time.Second}, []string{"WindowDuration"}},
		{"buckets too thin", Policy{WindowDuration: 5 * time.Millisecond, WindowBuckets: 10}, []string{"WindowDuration"}},
		{"negative buckets", Policy{WindowBuckets: -2}, []string{"WindowBuckets"}},
		{"negative open timeout", Policy{OpenTimeout: -time.Second}, []string{"OpenTimeout"}},
		{"multiplier below one", Policy{OpenTimeoutMultiplier: 0.5}, []string{"OpenTimeoutMultiplier"}},
		{"infinite multiplier", Policy{OpenTimeoutMultiplier: math.Inf(1)}, []string{"OpenTimeoutMultiplier"}},
		{"NaN multiplier", Policy{OpenTimeoutMultiplier: nan}, []string{"OpenTimeoutMultiplier"}},
		{"cap below open timeout", Policy{OpenTimeout: time.Minute, MaxOpenTimeout: time.Second}, []string{"MaxOpenTimeout"}},
		{"negative cap", Policy{MaxOpenTimeout: -1}, []string{"MaxOpenTimeout"}},
		{"jitter of one", Policy{OpenTimeoutJitter: 1}, []string{"OpenTimeoutJitter"}},
		{"NaN jitter", Policy{OpenTimeoutJitter: nan}, []string{"OpenTimeoutJitter"}},
		{"negative probes", Policy{HalfOpenProbes: -1}, []string{"HalfOpenProbes"}},
		{"successes above probes", Policy{HalfOpenProbes: 2, SuccessesToClose: 3}, []string{"SuccessesToClose"}},
		{"successes above default probes", Policy{SuccessesToClose: 2}, []string{"SuccessesToClose"}},
		{"negative successes", Policy{SuccessesToClose: -1}, []string{"SuccessesToClose"}},
		{"negative half-open wait", Policy{MaxHalfOpenWait: -time.Second}, []string{"MaxHalfOpenWait"}},
		{"several at once", Policy{FailureThreshold: -1, HalfOpenProbes: -1, OpenTimeoutJitter: 2},
			[]string{"FailureThreshold", "OpenTimeoutJitter", "HalfOpenProbes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			require.Error(t, err)
			assert.ErrorIs(t, err, messages.ErrInvalidPolicy)
			assert.Equal(t, tt.fields, policyerr.Fields(err))
			var pe *messages.PolicyError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "breaker.Policy", pe.Policy)

			_, err = NewMachine(tt.p, 0)
			assert.ErrorIs(t, err, messages.ErrInvalidPolicy)
		})
	}
}

func TestValidateAcceptsEdges(t *testing.T) {
	for _, p := range []Policy{
		{},
		{FailureRateThreshold: 1, SlowCallRateThreshold: 1, SlowCallDuration: 1},
		{MinimumCalls: 100, WindowSize: 100},
		{MinimumCalls: 1000, WindowDuration: time.Second},
		{WindowDuration: 10 * time.Millisecond, WindowBuckets: 10},
		{OpenTimeoutMultiplier: 1, OpenTimeoutJitter: 0.99},
		{HalfOpenProbes: 5, SuccessesToClose: 5},
		{OpenTimeout: time.Second, MaxOpenTimeout: time.Second},
	} {
		assert.NoError(t, p.Validate(), "%+v", p)
	}
}

func TestClassify(t *testing.T) {
	p := Policy{}
	assert.Equal(t, messages.Success, p.Classify(nil))
	assert.Equal(t, messages.Failure, p.Classify(errors.New("x")))
	assert.Equal(t, messages.Ignored, p.Classify(context.Canceled))
	assert.Equal(t, messages.Ignored, p.Classify(errors.Join(errors.New("x"), context.Canceled)))
	assert.Equal(t, messages.Failure, p.Classify(context.DeadlineExceeded), "a dependency's timeout is a failure")
}
