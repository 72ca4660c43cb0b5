package bench

import (
	"fmt"
	"math"
	"strings"
)

// ratioChart renders a Mermaid xychart (GitHub renders it as a plot) of one ratio per
// workload×test as bars, with the goal per bar as a line. Missing ratios are drawn as 0 and listed
// in the title. It returns "" when there is nothing to plot.
func ratioChart(title string, cs []Comparison, value func(Comparison) float64, goal func(Comparison) float64) string {
	if len(cs) == 0 {
		return ""
	}
	labels := make([]string, len(cs))
	bars := make([]string, len(cs))
	goals := make([]string, len(cs))
	top := 0.0
	var missing []string
	for i, c := range cs {
		labels[i] = fmt.Sprintf("%q", c.Workload.Name+" "+c.Test)
		v := value(c)
		if math.IsNaN(v) {
			missing = append(missing, c.Workload.Name+" "+c.Test)
			v = 0
		}
		bars[i] = fmt.Sprintf("%.2f", v)
		goals[i] = fmt.Sprintf("%.2f", goal(c))
		top = math.Max(top, math.Max(v, goal(c)))
	}
	if len(missing) > 0 {
		title += " (n/a: " + strings.Join(missing, ", ") + ")"
	}
	var sb strings.Builder
	sb.WriteString("```mermaid\nxychart-beta\n")
	fmt.Fprintf(&sb, "    title %q\n", title)
	fmt.Fprintf(&sb, "    x-axis [%s]\n", strings.Join(labels, ", "))
	fmt.Fprintf(&sb, "    y-axis \"ratio\" 0 --> %.1f\n", math.Ceil(top*1.1*10)/10)
	fmt.Fprintf(&sb, "    bar [%s]\n", strings.Join(bars, ", "))
	fmt.Fprintf(&sb, "    line [%s]\n", strings.Join(goals, ", "))
	sb.WriteString("```\n")
	return sb.String()
}
