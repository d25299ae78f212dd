package main

import (
	"image"
	"image/color"
	"image/png"
	"os"

	"github.com/warden-go/warden/executor"
)

// timeline keeps, per dependency and tick, the breaker's state and the
// share of the tick's calls that succeeded.
type timeline struct {
	ticks map[string][]tick
}

type tick struct {
	state executor.State
	rate  float64 // successes over calls ended in the tick; -1 without any
}

// add records the tick that ends with st, after prev.
func (tl *timeline) add(dep string, st, prev executor.Stats) {
	if tl.ticks == nil {
		tl.ticks = map[string][]tick{}
	}
	ok := st.Succeeded - prev.Succeeded
	all := st.Ended() - prev.Ended()
	t := tick{state: st.State, rate: -1}
	if all > 0 {
		t.rate = float64(ok) / float64(all)
	}
	tl.ticks[dep] = append(tl.ticks[dep], t)
}

var (
	background = color.RGBA{0xf7, 0xf8, 0xfa, 0xff}
	grid       = color.RGBA{0xe3, 0xe6, 0xea, 0xff}
	line       = color.RGBA{0x3b, 0x6f, 0xd6, 0xff}
	stateColor = map[executor.State]color.RGBA{
		executor.Closed:     {0x2e, 0x9e, 0x5b, 0xff},
		executor.Open:       {0xd6, 0x45, 0x45, 0xff},
		executor.HalfOpen:   {0xe0, 0xa3, 0x1b, 0xff},
		executor.ForcedOpen: {0x8b, 0x1e, 0x1e, 0xff},
		executor.Disabled:   {0x7d, 0x86, 0x90, 0xff},
	}
)

// writePNG draws one band per dependency, in deps' order: a strip of the
// breaker's state per tick, and under it the success rate per tick, a
// line from 0% (bottom) to 100% (top).
func (tl *timeline) writePNG(path string, deps []string) error {
	const (
		cell  = 24 // pixels per tick
		strip = 18
		chart = 80
		gap   = 16
		band  = strip + 4 + chart + gap
	)
	n := 1
	for _, ts := range tl.ticks {
		n = max(n, len(ts))
	}
	img := image.NewRGBA(image.Rect(0, 0, n*cell+2*gap, len(deps)*band+gap))
	fill(img, img.Bounds(), background)
	for b, dep := range deps {
		top := gap + b*band
		chartTop := top + strip + 4
		fill(img, image.Rect(gap, chartTop, gap+n*cell, chartTop+chart), color.RGBA{0xff, 0xff, 0xff, 0xff})
		for _, y := range []int{chartTop, chartTop + chart/2, chartTop + chart - 1} {
			fill(img, image.Rect(gap, y, gap+n*cell, y+1), grid)
		}
		prevX, prevY := -1, -1
		for i, t := range tl.ticks[dep] {
			x0 := gap + i*cell
			fill(img, image.Rect(x0, top, x0+cell-1, top+strip), stateColor[t.state])
			if t.rate < 0 {
				prevX = -1
				continue
			}
			x, y := x0+cell/2, chartTop+chart-1-int(t.rate*float64(chart-1))
			if prevX >= 0 {
				drawLine(img, prevX, prevY, x, y, line)
			}
			fill(img, image.Rect(x-2, y-2, x+3, y+3), line)
			prevX, prevY = x, y
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// drawLine draws a two-pixel-thick line from (x0, y0) to (x1, y1).
func drawLine(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		fill(img, image.Rect(x0, y0, x0+2, y0+2), c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}
