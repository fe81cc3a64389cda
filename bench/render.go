package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// paperBaselines are the codecs of the paper's tables; "gain over best"
// compares with the best of these, as the paper does. The "best baseline"
// columns take the best of every codec the run measured.
var paperBaselines = []string{"png", "flac", "gzip", "lzma", "fpzip"}

// find returns the row of the given set, group, method and variant.
func (r *Report) find(set, group, method, variant string) *Row {
	for i := range r.Rows {
		x := &r.Rows[i]
		if x.Set == set && x.Group == group && x.Method == method && x.Variant == variant {
			return x
		}
	}
	return nil
}

// methods lists the distinct methods of a group, in row order.
func (r *Report) methods(group string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range r.Rows {
		if x.Group == group && !seen[x.Method] {
			seen[x.Method] = true
			out = append(out, x.Method)
		}
	}
	return out
}

func (r *Report) rowsOf(group string) []Row {
	var out []Row
	for _, x := range r.Rows {
		if x.Group == group {
			out = append(out, x)
		}
	}
	return out
}

// figure formats one of a row's measures (mean and std over the draws):
// "-" when absent, FAILED for a failed row, the std only with several draws.
func figure(x *Row, present bool, mean, std float64) string {
	switch {
	case x == nil || !present:
		return "-"
	case x.Error != "":
		return "FAILED"
	case x.Draws > 1:
		return fmt.Sprintf("%.2f ± %.2f", mean, std)
	}
	return fmt.Sprintf("%.2f", mean)
}

func rate(x *Row) string {
	if x == nil {
		return "-"
	}
	return figure(x, true, x.Rate, x.RateStd)
}

func ideal(x *Row) string {
	if x == nil {
		return "-"
	}
	return figure(x, x.HasIdeal, x.Ideal, x.IdealStd)
}

func streams(x *Row) string {
	if x == nil {
		return "-"
	}
	return figure(x, x.HasIdeal, x.Streams, x.StreamsStd)
}

func speed(x *Row) string {
	if x == nil || x.Error != "" {
		return "-"
	}
	return fmt.Sprintf("%.3g / %.3g", x.CompressMBps, x.DecompressMBps)
}

// table writes a Markdown table.
func table(w io.Writer, head []string, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(head, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(head)))
	for _, r := range rows {
		for i := range r {
			r[i] = strings.ReplaceAll(r[i], "|", `\|`)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	fmt.Fprintln(w)
}

// WriteMarkdown writes the report as Markdown tables in the layout of the
// paper: Table 1 (codecs unchunked and chunked, and lmgc's priors, on the
// main set), Table 2 (by architecture, the *-cifar10 sets), Table 3 (by
// dataset, the convnet-* sets, with the gain over the best of the paper's
// baselines), the LLM rows, the ablations, gradient statistics and
// failures. Rates are percent (lower is better); speeds are MB/s (10^6
// bytes of original data per second) compress / decompress.
func WriteMarkdown(w io.Writer, r *Report) error {
	bw := &errWriter{w: w}
	w = bw
	if r.Command != "" {
		fmt.Fprintf(w, "Command: `%s`\n\n", r.Command)
	}
	fmt.Fprintf(w, "Run %s, %.0f s. Subsets: %d draws of %d files, seed %d. ",
		r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Seconds, r.Config.Subsets, r.Config.PerSubset, r.Config.Seed)
	fmt.Fprintf(w, "Rates are 100 x compressed / original (%%, lower is better), mean ± std over the draws; "+
		"speeds are MB/s compress / decompress. Every coded size was decompressed and compared with the original.\n\n")
	if !r.Complete {
		fmt.Fprintf(w, "**Interrupted: only the rows completed are shown.**\n\n")
	}

	var rows [][]string
	for _, s := range r.Sets {
		st := "-"
		if s.Stats != nil {
			st = fmt.Sprintf("%.3g", float64(s.Stats.Floats))
		}
		rows = append(rows, []string{s.Name, strconv.Itoa(s.Files), humanBytes(s.FileBytes), st, s.Note})
	}
	fmt.Fprintln(w, "### Gradient sets")
	fmt.Fprintln(w)
	table(w, []string{"set", "files", "float data per file", "floats measured per file", "note"}, rows)

	codecs := r.methods(GroupBaseline)
	priors := r.methods(GroupPrior)
	main := r.Config.AblationSet
	if main == "" && len(r.Sets) > 0 {
		main = r.Sets[0].Name
	}
	if len(codecs)+len(priors) > 0 {
		fmt.Fprintf(w, "### Table 1: codecs on %s\n\n", main)
		rows = nil
		for _, c := range codecs {
			u, ch := r.find(main, GroupBaseline, c, "unchunked"), r.find(main, GroupBaseline, c, "chunked")
			scope := ""
			if ch != nil {
				scope = ch.Scope
			}
			rows = append(rows, []string{c, rate(u), rate(ch), "-", speed(u), speed(ch), scope})
		}
		if len(codecs) > 0 {
			bu, bnu := best(r, main, GroupBaseline, codecs, "unchunked")
			bc, bnc := best(r, main, GroupBaseline, codecs, "chunked")
			rows = append(rows, []string{"best baseline", fmtBest(bu, bnu), fmtBest(bc, bnc), "-", "-", "-", ""})
		}
		for _, p := range priors {
			x := r.find(main, GroupPrior, p, "raw")
			scope := ""
			if x != nil {
				scope = x.Scope
			}
			rows = append(rows, []string{"lmgc " + p, rate(x), "-", ideal(x), speed(x), "-", scope})
		}
		table(w, []string{"codec", "unchunked", "chunked", "ideal", "MB/s unchunked", "MB/s chunked", "scope (chunked)"}, rows)
	}

	byGroup := func(title string, match func(string) (string, bool), gain bool) {
		var sets []Set
		var labels []string
		for _, s := range r.Sets {
			if l, ok := match(s.Name); ok {
				sets = append(sets, s)
				labels = append(labels, l)
			}
		}
		if len(sets) == 0 || len(codecs)+len(priors) == 0 {
			return
		}
		fmt.Fprintf(w, "### %s\n\n", title)
		head := []string{""}
		head = append(head, codecs...)
		for _, p := range priors {
			head = append(head, "lmgc "+p)
		}
		if len(codecs) > 0 {
			head = append(head, "best baseline")
		}
		if gain {
			head = append(head, "best paper baseline", "best lmgc", "gain over best")
			if len(codecs) > 0 {
				head = append(head, "best lmgc / best baseline")
			}
		}
		rows = nil
		for i, s := range sets {
			row := []string{labels[i]}
			for _, c := range codecs {
				row = append(row, rate(r.find(s.Name, GroupBaseline, c, "unchunked")))
			}
			for _, p := range priors {
				row = append(row, rate(r.find(s.Name, GroupPrior, p, "raw")))
			}
			ab, an := best(r, s.Name, GroupBaseline, codecs, "unchunked")
			if len(codecs) > 0 {
				row = append(row, fmtBest(ab, an))
			}
			if gain {
				bb, bn := best(r, s.Name, GroupBaseline, paperBaselines, "unchunked")
				lb, ln := best(r, s.Name, GroupPrior, priors, "raw")
				g := "-"
				if bb > 0 && lb > 0 {
					g = fmt.Sprintf("%.1f%%", 100*(bb-lb)/bb)
				}
				row = append(row, fmtBest(bb, bn), fmtBest(lb, ln), g)
				if len(codecs) > 0 {
					ratio := "-"
					if ab > 0 && lb > 0 {
						ratio = fmt.Sprintf("%.3f", lb/ab)
					}
					row = append(row, ratio)
				}
			}
			rows = append(rows, row)
		}
		table(w, head, rows)
	}
	byGroup("All sets, unchunked", func(n string) (string, bool) { return n, true }, true)
	if len(codecs) > 0 && len(r.Sets) > 1 {
		fmt.Fprintf(w, "### All sets, chunked\n\n")
		rows = nil
		for _, s := range r.Sets {
			row := []string{s.Name}
			for _, c := range codecs {
				row = append(row, rate(r.find(s.Name, GroupBaseline, c, "chunked")))
			}
			row = append(row, fmtBest(best(r, s.Name, GroupBaseline, codecs, "chunked")))
			rows = append(rows, row)
		}
		table(w, append(append([]string{""}, codecs...), "best baseline"), rows)
	}
	byGroup("Table 2: by architecture (CIFAR-10 sets), unchunked", func(n string) (string, bool) {
		arch, ds, ok := strings.Cut(n, "-")
		return arch, ok && ds == "cifar10"
	}, false)
	byGroup("Table 3: ConvNet by dataset, unchunked (gain = (best paper baseline - best lmgc prior) / best paper baseline)", func(n string) (string, bool) {
		arch, ds, ok := strings.Cut(n, "-")
		return ds, ok && arch == "convnet"
	}, true)

	llmRows := func(title, group string, first string) {
		xs := r.rowsOf(group)
		if len(xs) == 0 {
			return
		}
		fmt.Fprintf(w, "### %s\n\n", title)
		rows = nil
		for _, x := range xs {
			tpf := "-"
			if x.TokensPerFloat > 0 {
				tpf = fmt.Sprintf("%.3f", x.TokensPerFloat)
			}
			rows = append(rows, []string{x.Set, x.Method, x.Variant, rate(&x), streams(&x), ideal(&x), tpf, speed(&x), x.Scope})
		}
		table(w, []string{"set", "model, mode", first, "coded file", "coded streams", "ideal", "tokens/float", "MB/s", "scope"}, rows)
	}
	llmRows("Codecs and lmgc priors on the LLM rows' slices", GroupLLMRef, "variant")
	llmRows("LLM prior: paper vs constrained mode", GroupLLM, "format")
	llmRows("Ablation: context window (paper mode)", GroupWindow, "window")
	llmRows("Ablation: bytes per group (paper mode)", GroupBytes, "grouping")
	llmRows("Ablation: serialization (paper mode; tokens per float from the codec's stats)", GroupFormat, "format")

	rows = nil
	for _, s := range r.Sets {
		if st := s.Stats; st != nil {
			rows = append(rows, []string{s.Name, fmt.Sprintf("%.4f", st.Zeros), fmt.Sprintf("%.4f", st.Low16Zero),
				fmt.Sprintf("%.2f / %.2f / %.2f / %.2f", st.PlaneEntropy[0], st.PlaneEntropy[1], st.PlaneEntropy[2], st.PlaneEntropy[3]),
				fmt.Sprintf("%.2f", st.Order0Rate), fmt.Sprintf("%d / %d / %d", st.ExpP01, st.ExpP50, st.ExpP99), fmt.Sprintf("%.3g", st.MaxAbs)})
		}
	}
	if len(rows) > 0 {
		fmt.Fprintln(w, "### Gradient statistics (first file of each set, the data measured)")
		fmt.Fprintln(w)
		table(w, []string{"set", "exact zeros", "bf16-exact (low 16 bits 0)", "byte-plane entropy, bits (byte 0 / 1 / 2 / 3=sign+exp)",
			"order-0 byte-plane rate %", "exponent p1 / p50 / p99", "max |g|"}, rows)
	}

	var fails [][]string
	for _, x := range r.Rows {
		if x.Error != "" {
			fails = append(fails, []string{x.Set, x.Group, x.Method, x.Variant, x.Error})
		}
	}
	if len(fails) > 0 {
		fmt.Fprintln(w, "### Failures")
		fmt.Fprintln(w)
		table(w, []string{"set", "group", "method", "variant", "error"}, fails)
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintln(w, "Skipped (not installed):")
		for _, s := range r.Skipped {
			fmt.Fprintf(w, "- %s\n", s)
		}
		fmt.Fprintln(w)
	}
	return bw.err
}

func best(r *Report, set, group string, methods []string, variant string) (float64, string) {
	b, name := 0.0, ""
	for _, m := range methods {
		x := r.find(set, group, m, variant)
		if x != nil && x.Error == "" && x.Draws > 0 && (b == 0 || x.Rate < b) {
			b, name = x.Rate, m
		}
	}
	return b, name
}

func fmtBest(v float64, name string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f (%s)", v, name)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// WriteCSV writes one line per row, with a header line.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"set", "group", "method", "variant", "scope", "files", "draws", "rate", "rate_std",
		"ideal", "ideal_std", "streams", "streams_std", "tokens_per_float", "compress_mbps", "decompress_mbps", "error"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	for _, x := range r.Rows {
		id, ids, st, sts := "", "", "", ""
		if x.HasIdeal && x.Error == "" {
			id, ids, st, sts = f(x.Ideal), f(x.IdealStd), f(x.Streams), f(x.StreamsStd)
		}
		cw.Write([]string{x.Set, x.Group, x.Method, x.Variant, x.Scope, strconv.Itoa(x.Files), strconv.Itoa(x.Draws),
			f(x.Rate), f(x.RateStd), id, ids, st, sts, f(x.TokensPerFloat), f(x.CompressMBps), f(x.DecompressMBps), x.Error})
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

// WriteSVG draws a bar chart of the unchunked rate of every codec and
// prior, one group of bars per set, with ± std whiskers.
func WriteSVG(w io.Writer, r *Report) error {
	series := r.methods(GroupBaseline)
	var labels []string
	labels = append(labels, series...)
	for _, p := range r.methods(GroupPrior) {
		labels = append(labels, "lmgc "+p)
	}
	get := func(set string, i int) *Row {
		if i < len(series) {
			return r.find(set, GroupBaseline, series[i], "unchunked")
		}
		return r.find(set, GroupPrior, strings.TrimPrefix(labels[i], "lmgc "), "raw")
	}
	top := 100.0
	for _, s := range r.Sets {
		for i := range labels {
			if x := get(s.Name, i); x != nil && x.Error == "" {
				top = math.Max(top, x.Rate+x.RateStd)
			}
		}
	}
	top = math.Ceil(top/20) * 20
	const barW, gap, left, plotH, topM = 14.0, 24.0, 50.0, 300.0, 30.0
	groupW := float64(len(labels))*barW + gap
	width := left + float64(len(r.Sets))*groupW + 20
	legendY := topM + plotH + 50
	height := legendY + 18*float64((len(labels)+3)/4) + 10
	width = math.Max(width, 620)
	bw := &errWriter{w: w}
	w = bw
	y := func(v float64) float64 { return topM + plotH*(1-v/top) }
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(w, `<text x="%.0f" y="18" font-size="13">Compression rate %% (unchunked, lower is better)</text>`+"\n", left)
	for v := 0.0; v <= top; v += 20 {
		fmt.Fprintf(w, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, width-10, y(v), y(v))
		fmt.Fprintf(w, `<text x="%.0f" y="%.1f" text-anchor="end">%.0f</text>`+"\n", left-4, y(v)+4, v)
	}
	for g, s := range r.Sets {
		x0 := left + gap/2 + float64(g)*groupW
		for i := range labels {
			x := get(s.Name, i)
			if x == nil || x.Error != "" {
				continue
			}
			bx := x0 + float64(i)*barW
			fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %.2f ± %.2f</title></rect>`+"\n",
				bx, y(x.Rate), barW-2, plotH+topM-y(x.Rate), palette[i%len(palette)], html.EscapeString(s.Name), html.EscapeString(labels[i]), x.Rate, x.RateStd)
			// The value itself, written upwards just above the bar.
			lx, ly := bx+(barW-2)/2+3, y(x.Rate)-3
			fmt.Fprintf(w, `<text x="%.1f" y="%.1f" font-size="8" transform="rotate(-90 %.1f %.1f)">%.1f</text>`+"\n", lx, ly, lx, ly, x.Rate)
			if x.RateStd > 0 {
				cx := bx + (barW-2)/2
				fmt.Fprintf(w, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="black"/>`+"\n", cx, cx, y(x.Rate-x.RateStd), y(x.Rate+x.RateStd))
			}
		}
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x0+float64(len(labels))*barW/2, topM+plotH+16, html.EscapeString(s.Name))
	}
	for i, l := range labels {
		lx := left + float64(i%4)*140
		ly := legendY + 18*float64(i/4)
		fmt.Fprintf(w, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			lx, ly-9, palette[i%len(palette)], lx+14, ly, html.EscapeString(l))
	}
	fmt.Fprintln(w, "</svg>")
	return bw.err
}

// ReadJSON reads a report written by WriteJSON, to render it again.
func ReadJSON(r io.Reader) (*Report, error) {
	var rep Report
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("bench: reading report: %w", err)
	}
	return &rep, nil
}
