package query

import (
	"encoding/json"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/vsdb/vsdb/aggregate"
)

// ArrowSchema is the schema of a query's Arrow answer: "group" (utf8), then one column per aggregate
// named as in Columns: count and distinct as int64; sum, min, max, avg as float64 (null for min/max/avg of no
// values); top-k and bottom-k as utf8 holding the JSON array of {key, value} entries; a custom
// aggregator as utf8 holding its result as JSON.
func ArrowSchema(q *aggregate.Query) *arrow.Schema {
	fields := []arrow.Field{{Name: "group", Type: arrow.BinaryTypes.String}}
	for i, s := range q.Aggregates {
		name := Columns(q)[i]
		switch s.Kind {
		case aggregate.Count, aggregate.Distinct:
			fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64})
		case aggregate.TopK, aggregate.BottomK, aggregate.CustomKind:
			fields = append(fields, arrow.Field{Name: name, Type: arrow.BinaryTypes.String})
		default:
			fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
		}
	}
	return arrow.NewSchema(fields, nil)
}

// WriteArrow writes res as an Arrow IPC stream: one record batch, one row per group (sorted by group).
func WriteArrow(w io.Writer, q *aggregate.Query, res *Result) error {
	schema := ArrowSchema(q)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, g := range res.Groups.Names() {
		b.Field(0).(*array.StringBuilder).Append(g)
		sts := res.Groups.By[g]
		for i, s := range q.Aggregates {
			v := sts[i].Result(s)
			switch fb := b.Field(i + 1).(type) {
			case *array.Int64Builder:
				fb.Append(v.(int64))
			case *array.Float64Builder:
				if f, ok := v.(float64); ok {
					fb.Append(f)
				} else {
					fb.AppendNull()
				}
			case *array.StringBuilder:
				j, err := json.Marshal(v)
				if err != nil {
					return err
				}
				fb.Append(string(j))
			}
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	wr := ipc.NewWriter(w, ipc.WithSchema(schema))
	if err := wr.Write(rec); err != nil {
		return err
	}
	return wr.Close()
}
