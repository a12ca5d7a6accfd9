package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(p * float64(len(d)-1))
	return d[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }

func mb(kb int64) string { return fmt.Sprintf("%.0f", float64(kb)/1024) }

// report writes the results as markdown tables.
func report(w io.Writer, o options, results [][2]*result, cross []loadResult) {
	fmt.Fprintf(w, "pbench: %d keys of %d bytes, %d writing clients, appendfsync %s\n\n", o.keys, o.value, o.clients, o.fsync)
	for r, pair := range results {
		if len(results) > 1 {
			fmt.Fprintf(w, "### Round %d\n\n", r+1)
		}
		for _, res := range pair {
			fmt.Fprintf(w, "- %s: `%s` (fill %.1f s)\n", res.name, res.cmdline, res.fillSecs)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| phase | server | duration s | SET/s | p50 ms | p99 ms | p99.9 ms | max ms | RSS before MB | RSS peak MB | Redis COW |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for p := phaseIdle; p < phases; p++ {
			for _, res := range pair {
				d := res.lat[p]
				rate := float64(len(d)) / res.phaseSecs[p]
				cow := res.cow[p]
				if res.name != "redis" || cow == "" {
					cow = "–"
				} else {
					cow = cowMB(cow)
				}
				fmt.Fprintf(w, "| %s | %s | %.2f | %.0f | %s | %s | %s | %s | %s | %s | %s |\n",
					phaseNames[p], res.name, res.phaseSecs[p], rate, ms(pct(d, 0.5)), ms(pct(d, 0.99)),
					ms(pct(d, 0.999)), ms(pct(d, 1)), mb(res.rssBefore[p]), mb(res.rssPeak[p]), cow)
			}
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| load | server | ready after s | logged | RSS MB |")
		fmt.Fprintln(w, "|---|---|---:|---|---:|")
		for _, res := range pair {
			for _, lr := range res.loads {
				fmt.Fprintf(w, "| %s | %s | %.2f | %s | %s |\n", lr.what, lr.server, lr.readySecs, strings.TrimSpace(lr.logged), mb(lr.rssKB))
			}
		}
		if r < len(cross) {
			lr := cross[r]
			fmt.Fprintf(w, "| %s | %s | %.2f | %s | %s |\n", lr.what, lr.server, lr.readySecs, strings.TrimSpace(lr.logged), mb(lr.rssKB))
		}
		fmt.Fprintln(w)
		for _, res := range pair {
			fmt.Fprintf(w, "- %s: SAVE took %.2f s, dump.rdb %d bytes\n", res.name, res.saveSecs, res.dumpSize)
		}
		fmt.Fprintln(w)
	}
}

func cowMB(bytes string) string {
	var n int64
	fmt.Sscan(bytes, &n)
	return fmt.Sprintf("%.0f MB", float64(n)/(1<<20))
}
