package stats

import (
	"math"
	"slices"
	"time"
)

// Latency histogram: fixed memory whatever the number of samples.
//
// The first exactSamples samples are also kept as they are, so small
// captures (the ones people check by hand) get exact percentiles; past that,
// percentiles come from logarithmic buckets 2^(1/16) apart (about 4.4 %
// wide) from 1 µs to about 2^40 µs (12 days).
const (
	exactSamples   = 256
	bucketsPerOct  = 16
	octaves        = 40
	histBuckets    = 1 + bucketsPerOct*octaves + 1 // under 1 µs, the octaves, overflow
	histBucketBase = float64(time.Microsecond)
)

type histogram struct {
	n       int
	sum     time.Duration
	max     time.Duration
	min     time.Duration
	exact   []time.Duration // first exactSamples samples, allocated on first use
	buckets [histBuckets]uint32
}

func bucketOf(d time.Duration) int {
	if float64(d) < histBucketBase {
		return 0
	}
	i := 1 + int(math.Floor(bucketsPerOct*math.Log2(float64(d)/histBucketBase)))
	return min(i, histBuckets-1)
}

// bucketMid is the geometric middle of bucket i.
func bucketMid(i int) time.Duration {
	if i == 0 {
		return time.Microsecond / 2
	}
	return time.Duration(histBucketBase * math.Exp2((float64(i-1)+0.5)/bucketsPerOct))
}

func (h *histogram) add(d time.Duration) {
	if d < 0 {
		d = 0 // captures merged out of order
	}
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
	if len(h.exact) < exactSamples {
		if h.exact == nil {
			h.exact = make([]time.Duration, 0, exactSamples)
		}
		h.exact = append(h.exact, d)
	}
	h.buckets[bucketOf(d)]++
}

// exactAll reports whether every sample is in exact.
func (h *histogram) exactAll() bool { return h.n <= exactSamples }

// quantile returns the nearest-rank q-quantile (0 < q <= 1).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(h.n)))
	rank = max(1, min(rank, h.n))
	if h.exactAll() {
		s := slices.Clone(h.exact)
		slices.Sort(s)
		return s[rank-1]
	}
	seen := 0
	for i, c := range h.buckets {
		seen += int(c)
		if seen >= rank {
			return max(h.min, min(h.max, bucketMid(i)))
		}
	}
	return h.max
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}
