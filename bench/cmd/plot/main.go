// Command plot renders the throughput of each peer against parallelism
// from a raw `go test -bench` results file: the median jobs/s of every
// BenchmarkSuccess/<peer>/deps=8/par=<n> row.
//
//	go run ./cmd/plot results/2026-11-28.txt results/2026-11-28.png
package main

import (
	"bufio"
	"fmt"
	"image/color"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

var row = regexp.MustCompile(`^BenchmarkSuccess/([^/]+)/deps=8/par=(\d+)-\d+\s.*?([\d.e+]+) jobs/s`)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: plot RESULTS.txt OUT.png")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	samples := map[string]map[int][]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		par, _ := strconv.Atoi(m[2])
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return err
		}
		if samples[m[1]] == nil {
			samples[m[1]] = map[int][]float64{}
		}
		samples[m[1]][par] = append(samples[m[1]][par], v)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(samples) == 0 {
		return fmt.Errorf("no BenchmarkSuccess rows in %s", in)
	}

	p := plot.New()
	p.Title.Text = "Success path, 8 dependencies: throughput against parallelism (median)"
	p.X.Label.Text = "concurrent callers"
	p.Y.Label.Text = "jobs/s"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	peers := make([]string, 0, len(samples))
	for name := range samples {
		peers = append(peers, name)
	}
	slices.Sort(peers)
	for i, name := range peers {
		pars := make([]int, 0, len(samples[name]))
		for par := range samples[name] {
			pars = append(pars, par)
		}
		slices.Sort(pars)
		pts := make(plotter.XYs, len(pars))
		for k, par := range pars {
			pts[k] = plotter.XY{X: float64(par), Y: median(samples[name][par])}
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		c := plotutil.Color(i)
		if strings.HasPrefix(name, "warden") {
			c = color.RGBA{R: 200, A: 255}
			line.Width = vg.Points(3)
		}
		line.Color, points.Color = c, c
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(name, line, points)
	}
	return p.Save(9*vg.Inch, 5.5*vg.Inch, out)
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}
