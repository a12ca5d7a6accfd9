package main

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// median returns the middle of xs (the mean of the middle two if even).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread formats the median of xs, with their range when there are several.
func spread(xs []float64) string {
	switch len(xs) {
	case 0:
		return "—"
	case 1:
		return fmt.Sprintf("%.2f", xs[0])
	}
	return fmt.Sprintf("%.2f [%.2f–%.2f]", median(xs), slices.Min(xs), slices.Max(xs))
}

// good returns the runs that produced a result.
func good(rs []run) []run {
	return slices.DeleteFunc(slices.Clone(rs), func(r run) bool { return r.err != "" })
}

// pairs returns the runs of servers 0 and 1 from the rounds where both
// produced a result, in round order.
func pairs(c *cell) (a, b []run) {
	for _, ra := range good(c.runs[0]) {
		for _, rb := range good(c.runs[1]) {
			if ra.round == rb.round {
				a, b = append(a, ra), append(b, rb)
			}
		}
	}
	return a, b
}

// medianOf returns the median of f over the runs that have a result, or "—".
func medianOf(rs []run, format string, f func(r *run) float64) string {
	rs = good(rs)
	if len(rs) == 0 {
		return "—"
	}
	xs := make([]float64, len(rs))
	for i := range rs {
		xs[i] = f(&rs[i])
	}
	return fmt.Sprintf(format, median(xs))
}

// ratios returns f(b)/f(a) for each pair.
func ratios(a, b []run, f func(r *run) float64) []float64 {
	var xs []float64
	for i := range a {
		if d := f(&a[i]); d > 0 {
			xs = append(xs, f(&b[i])/d)
		}
	}
	return xs
}

// printMatrix prints the summary (server 1 against server 0), the notes, and
// every run, in Markdown.
func printMatrix(specs []serverSpec, o options, cells []*cell, notes []string) {
	a, b := specs[0].name, specs[1].name
	fmt.Printf("%d clients, -r %d, %d requests per run at pipeline 1 and %d at deeper pipelines, %d round(s).\n",
		o.clients, o.keyspace, o.requests, o.requestsPipelined, o.rounds)
	fmt.Printf("Throughput and p99 are medians over rounds; ratios are taken within a round, then the median\n")
	fmt.Printf("[lowest–highest] is shown. µs/req is the server's CPU time (utime+stime) per request.\n\n")
	fmt.Printf("| test | pipeline | %s rps | %s rps | %s/%s | %s p99 ms | %s p99 ms | p99 %s/%s | %s µs/req | %s µs/req | CPU %s/%s |\n",
		a, b, b, a, a, b, b, a, a, b, b, a)
	fmt.Printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	rps := func(r *run) float64 { return r.row.rps }
	p99 := func(r *run) float64 { return r.row.p99 }
	us := func(r *run) float64 { return r.usPerReq() }
	var footnotes []string
	marks := map[string]string{} // footnote text -> its mark
	for _, c := range cells {
		name := c.name
		if name == "" {
			name = strings.ToUpper(c.test)
		}
		pa, pb := pairs(c)
		cols := []string{
			medianOf(c.runs[0], "%.0f", rps), medianOf(c.runs[1], "%.0f", rps), spread(ratios(pa, pb, rps)),
			medianOf(c.runs[0], "%.3f", p99), medianOf(c.runs[1], "%.3f", p99), spread(ratios(pa, pb, p99)),
			medianOf(c.runs[0], "%.1f", us), medianOf(c.runs[1], "%.1f", us), spread(ratios(pa, pb, us)),
		}
		for i, why := range c.skip {
			if why == "" {
				continue
			}
			text := fmt.Sprintf("%s, %s: %s", name, specs[i].name, why)
			mark, ok := marks[text]
			if !ok {
				mark = fmt.Sprintf("[%d]", len(footnotes)+1)
				marks[text] = mark
				footnotes = append(footnotes, mark+" "+text)
			}
			if len(good(c.runs[i])) == 0 {
				label := "skipped "
				if len(c.runs[i]) > 0 {
					label = "failed "
				}
				cols[i] = label + mark
			} else {
				cols[i] += " " + mark
			}
		}
		fmt.Printf("| %s | %d | %s |\n", name, c.pipeline, strings.Join(cols, " | "))
	}
	if len(footnotes) > 0 {
		fmt.Println()
		for _, f := range footnotes {
			fmt.Println(f)
		}
	}
	if len(notes) > 0 {
		fmt.Printf("\nProbe notes (one command per test on each server before the runs):\n")
		for _, n := range notes {
			fmt.Println("- " + n)
		}
	}

	var busiest float64
	for _, c := range cells {
		for _, rs := range c.runs {
			for _, r := range rs {
				busiest = max(busiest, r.other)
			}
		}
	}
	fmt.Printf("\nEvery run. CPU columns are in cores (of %d): the server under test, redis-benchmark, and every\n", runtime.NumCPU())
	fmt.Printf("other process on the machine (busy time from /proc/stat minus the servers and redis-benchmark).\n")
	if busiest >= 0.1 {
		fmt.Printf("Other processes used up to %.2f cores during some runs.\n", busiest)
	}
	fmt.Printf("\n| test | pipeline | round | server | rps | avg ms | p50 ms | p99 ms | max ms | wall s | server CPU | µs/req | bench CPU | other CPU |\n")
	fmt.Printf("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range cells {
		name := c.name
		if name == "" {
			name = strings.ToUpper(c.test)
		}
		var all []run
		for _, rs := range c.runs {
			all = append(all, rs...)
		}
		slices.SortStableFunc(all, func(x, y run) int { return x.round - y.round })
		for _, r := range all {
			sn := specs[r.server].name
			if r.err != "" {
				fmt.Printf("| %s | %d | %d | %s | failed: %s | | | | | %.1f | | | | |\n", name, c.pipeline, r.round+1, sn,
					strings.ReplaceAll(r.err, "|", "/"), r.wall.Seconds())
				continue
			}
			w := r.wall.Seconds()
			fmt.Printf("| %s | %d | %d | %s | %.0f | %.3f | %.3f | %.3f | %.3f | %.1f | %.2f | %.1f | %.2f | %.2f |\n",
				name, c.pipeline, r.round+1, sn, r.row.rps, r.row.avg, r.row.p50, r.row.p99, r.row.max, w,
				r.cpu/w, r.usPerReq(), r.bench/w, r.other)
		}
	}
	fmt.Println()
}
