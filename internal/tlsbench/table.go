package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// printTable writes a Markdown table of each system's medians over its
// successful rounds, with every round's figures beside them.
func printTable(w io.Writer, systems []system, res map[string][]result, n int64) {
	gb := float64(n) / 1e9
	fmt.Fprintln(w, "| system | mode | up MB/s | down MB/s | bridge CPU-s per GB up / down | rounds (up/down MB/s) | cipher suite |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|---|")
	for _, sys := range systems {
		var up, down, cpuUp, cpuDown []float64
		var rounds []string
		suite := "– (plain)"
		for _, r := range res[sys.name] {
			if r.errStr != "" {
				rounds = append(rounds, "FAIL: "+r.errStr)
				continue
			}
			up, down = append(up, r.mbps[0]), append(down, r.mbps[1])
			cpuUp, cpuDown = append(cpuUp, r.cpu[0]/gb), append(cpuDown, r.cpu[1]/gb)
			rounds = append(rounds, fmt.Sprintf("%.0f/%.0f", r.mbps[0], r.mbps[1]))
			if r.suite != "" {
				suite = r.suite
			}
		}
		if len(up) == 0 {
			fmt.Fprintf(w, "| %s | %s | – | – | – | %s | |\n", sys.name, sys.mode, strings.Join(rounds, ", "))
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %.2f / %.2f | %s | %s |\n", sys.name, sys.mode,
			median(up), median(down), median(cpuUp), median(cpuDown), strings.Join(rounds, ", "), suite)
	}
}

// median returns the middle of v (the mean of the two middle values for
// an even count); v is sorted in place.
func median(v []float64) float64 {
	slices.Sort(v)
	k := len(v)
	if k%2 == 1 {
		return v[k/2]
	}
	return (v[k/2-1] + v[k/2]) / 2
}
