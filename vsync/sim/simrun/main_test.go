package simrun

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/vsync/sim"
)

func TestRun(t *testing.T) {
	seeds, _ := strconv.Atoi(os.Getenv("SEEDS"))
	seed, _ := strconv.Atoi(os.Getenv("SEED"))
	var faults []string
	if f := os.Getenv("FAULTS"); f != "" {
		faults = strings.Split(f, ",")
	}
	steps, _ := strconv.Atoi(os.Getenv("STEPS"))
	members, _ := strconv.Atoi(os.Getenv("MEMBERS"))
	res := sim.Run(sim.Options{Seed: int64(seed), Seeds: seeds, Faults: faults, Steps: steps, Members: members, Bug: os.Getenv("BUG"), Codec: os.Getenv("CODEC") != ""})
	for i, f := range res.Failures {
		if i > 50 {
			break
		}
		fmt.Println("seed", f.Seed, f.Replay)
		for j, v := range f.Violations {
			if j > 0 {
				break
			}
			fmt.Println("  ", v.Checker, v.Detail)
		}
	}
	fmt.Printf("seeds=%d violations=%d failing=%d stats: msgs=%d multicasts=%d deliveries=%d views=%d crashes=%d stopped=%v\n", res.Seeds, res.Violations, len(res.Failures), res.Stats.Messages, res.Stats.Multicasts, res.Stats.Deliveries, res.Stats.Views, res.Stats.Crashes, res.Stats.Stopped)
}

func TestDump(t *testing.T) {
	seed, _ := strconv.Atoi(os.Getenv("SEED"))
	if seed == 0 {
		t.Skip()
	}
	var faults []string
	if f := os.Getenv("FAULTS"); f != "" {
		faults = strings.Split(f, ",")
	}
	r := sim.RunSeed(int64(seed), sim.Options{Faults: faults})
	for _, e := range r.History {
		if e.Kind == 2 && os.Getenv("NODELIV") != "" {
			continue
		}
		fmt.Printf("%d %s %s k=%v v=%d %v %s:%d %s %v %d\n", e.Step, e.Member, e.Group, e.Kind, e.ViewID, e.Members, e.Sender, e.SenderSeq, e.Flavour, e.FlushWaitedFor, e.K)
	}
	for _, v := range r.Violations {
		fmt.Println(v.Checker, v.Detail)
	}
}
