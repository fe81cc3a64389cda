package tensorio

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/internal/testenv"
)

// ptWant is what torch.load found in a file (testdata/gen_pt.py writes it).
type ptWant struct {
	Torch   string `json:"torch"`
	Tensors []struct {
		Name    string  `json:"name"`
		DType   string  `json:"dtype"`
		Shape   []int64 `json:"shape"`
		Stride  []int64 `json:"stride"`
		Offset  int64   `json:"offset"`
		Storage string  `json:"storage"`
		Data    string  `json:"data"`
	} `json:"tensors"`
}

// gather returns a tensor's elements in row-major order, read through its
// offset and strides from the storage bytes.
func gather(t *testing.T, file []byte, s PTStorage, tt PTTensor) []byte {
	t.Helper()
	item := dtypeBytes[tt.DType]
	n, _ := numElements(tt.Shape)
	out := make([]byte, 0, n*item)
	idx := make([]int64, len(tt.Shape))
	for k := int64(0); k < n; k++ {
		e := tt.Offset
		for i, j := range idx {
			e += j * tt.Stride[i]
		}
		out = append(out, file[s.Offset+e*item:][:item]...)
		for i := len(idx) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < tt.Shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// checkPTDir checks every X.pt of dir against the X.json torch wrote next
// to it: the tensors, their values, and the layout.
func checkPTDir(t *testing.T, dir string) {
	wants, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(wants) == 0 {
		t.Fatalf("no .json files in %s: %v", dir, err)
	}
	for _, wf := range wants {
		name := strings.TrimSuffix(filepath.Base(wf), ".json")
		t.Run(name, func(t *testing.T) {
			var want ptWant
			b, err := os.ReadFile(wf)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			file, err := os.ReadFile(filepath.Join(dir, name+".pt"))
			if err != nil {
				t.Fatal(err)
			}
			if got := Detect(name+".pt", file[:64]); got != FormatPT {
				t.Errorf("Detect(%s.pt) = %q", name, got)
			}
			for _, other := range []string{"noext", "pytorch_model.bin"} {
				if got := Detect(other, file[:64]); got != FormatPT {
					t.Errorf("Detect(%s) from the contents = %q", other, got)
				}
			}
			pt, err := ParsePT(bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatal(err)
			}
			if pt.ByteOrder != "little" || pt.Archive != name {
				t.Errorf("archive %q byte order %q; want %q, little", pt.Archive, pt.ByteOrder, name)
			}
			if len(pt.Tensors) != len(want.Tensors) {
				t.Fatalf("%d tensors, torch has %d", len(pt.Tensors), len(want.Tensors))
			}
			storages := map[string]PTStorage{}
			for _, s := range pt.Storages {
				storages[s.Key] = s
			}
			for i, w := range want.Tensors {
				g := pt.Tensors[i]
				if g.Name != w.Name || g.DType != w.DType || !reflect.DeepEqual(g.Shape, w.Shape) ||
					!reflect.DeepEqual(g.Stride, w.Stride) || g.Offset != w.Offset || g.Storage != w.Storage {
					t.Errorf("tensor %d: got %+v\nwant %s %s %v stride %v offset %d storage %s",
						i, g, w.Name, w.DType, w.Shape, w.Stride, w.Offset, w.Storage)
					continue
				}
				s, ok := storages[g.Storage]
				if !ok || s.DType != g.DType {
					t.Errorf("tensor %q: storage %s is %+v", g.Name, g.Storage, s)
					continue
				}
				if got := hex.EncodeToString(gather(t, file, s, g)); got != w.Data {
					t.Errorf("tensor %q: values\n got %s\nwant %s", g.Name, got, w.Data)
				}
			}
			l, err := parseBytes(t, FormatPT, file)
			if err != nil {
				t.Fatal(err)
			}
			var f32 int64
			for _, s := range pt.Storages {
				if s.DType == "F32" {
					f32 += s.Length
				}
			}
			if f32 != l.Float32Bytes() {
				t.Errorf("layout has %d float32 bytes, the float32 storages %d", l.Float32Bytes(), f32)
			}
			for _, seg := range l.Segments {
				if seg.Name == "zip" {
					continue
				}
				if (seg.Kind == Float32LE) != (seg.DType == "F32") {
					t.Errorf("segment %+v: kind does not match dtype", seg)
				}
			}
		})
	}
}

func TestPTFiles(t *testing.T) { checkPTDir(t, "testdata") }

// TestPTTorch writes the reference files again with the installed torch
// and checks them. LMGC_TORCH_PYTHON names another Python with torch (a
// virtual environment with PyPI's torch 2.x) to check its files instead of
// those of Debian's python3-torch.
func TestPTTorch(t *testing.T) {
	py := "/usr/bin/python3"
	if p := os.Getenv("LMGC_TORCH_PYTHON"); p != "" {
		py = p
	}
	if out, err := exec.Command(py, "-c", "import torch").CombinedOutput(); err != nil {
		testenv.Unavailable(t, "%s cannot import torch (apt-get install python3-torch): %v %s", py, err, out)
	}
	dir := t.TempDir()
	cmd := exec.Command(py, "testdata/gen_pt.py", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen_pt.py: %v\n%s", err, out)
	}
	checkPTDir(t, dir)
	checkMalicious(t, filepath.Join(dir, "malicious.pt"))
	// With the torch that made testdata, the values must be the committed
	// ones: testdata is what gen_pt.py writes, not a stale copy.
	fresh, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range fresh {
		a, _ := os.ReadFile(f)
		b, err := os.ReadFile(filepath.Join("testdata", filepath.Base(f)))
		if err != nil {
			continue // a file only newer torch writes
		}
		var wa, wb ptWant
		json.Unmarshal(a, &wa)
		json.Unmarshal(b, &wb)
		if wa.Torch == wb.Torch && !bytes.Equal(a, b) {
			t.Errorf("%s: torch %s writes other tensors than testdata holds: run gen_pt.py", filepath.Base(f), wa.Torch)
		}
	}
}

func checkMalicious(t *testing.T, path string) {
	t.Helper()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParsePT(bytes.NewReader(file), int64(len(file)))
	if err == nil || !strings.Contains(err.Error(), "global os.system is not allowed") {
		t.Errorf("malicious.pt: err = %v, want a refusal naming os.system", err)
	}
	if _, err := parseBytes(t, FormatPT, file); err == nil {
		t.Error("malicious.pt: layout parsed")
	}
}

func TestPTMalicious(t *testing.T) { checkMalicious(t, "testdata/malicious.pt") }

func TestPTViewsLayout(t *testing.T) {
	file, err := os.ReadFile("testdata/views.pt")
	if err != nil {
		t.Fatal(err)
	}
	l, err := parseBytes(t, FormatPT, file)
	if err != nil {
		t.Fatal(err)
	}
	// Five views of two float32 storages and one float16 storage: each
	// storage is one segment, named after its first tensor.
	var got []string
	for _, s := range l.Segments {
		if s.Name != "zip" {
			got = append(got, s.Kind.String()+" "+s.Name+" "+s.DType+" "+shapeString(s.Shape))
		}
	}
	want := []string{"float32le slice F32 (30,)", "float32le expanded F32 (3,)", "float16le half_slice F16 (8,)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("segments %q, want %q", got, want)
	}
	for _, s := range l.Segments {
		if s.Kind == Float32LE && s.Offset%64 != 0 {
			t.Errorf("storage %s at offset %d, not 64-byte aligned as torch writes it", s.Name, s.Offset)
		}
	}
}

// Pickle building blocks for hand-made archives.
func pkU(s string) string {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
	return "X" + string(n[:]) + s
}

func pkG(module, name string) string { return "c" + module + "\n" + name + "\n" }

// pkTensorArgs pickles the argument tuple of _rebuild_tensor_v2 for
// storage key (typ, numel) with the given offset, size and stride (all
// one-dimensional here).
func pkTensorArgs(typ, key string, numel, offset, size, stride byte) string {
	return "((" + pkU("storage") + pkG("torch", typ) + pkU(key) + pkU("cpu") +
		"K" + string(numel) + "tQK" + string(offset) + "K" + string(size) + "\x85K" + string(stride) + "\x85\x89" +
		pkG("collections", "OrderedDict") + ")Rt"
}

// pkTensorOp pickles the _rebuild_tensor_v2 call itself.
func pkTensorOp(typ, key string, numel, offset, size, stride byte) string {
	return pkG("torch._utils", "_rebuild_tensor_v2") + pkTensorArgs(typ, key, numel, offset, size, stride) + "R"
}

type zipRec struct {
	name   string
	data   []byte
	method uint16
}

func makeZip(t testing.TB, recs ...zipRec) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, r := range recs {
		f, err := w.CreateHeader(&zip.FileHeader{Name: r.name, Method: r.method})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(r.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ptArchive(t testing.TB, pkl string, recs ...zipRec) []byte {
	return makeZip(t, append([]zipRec{{name: "a/data.pkl", data: []byte("\x80\x02" + pkl + ".")}}, recs...)...)
}

func TestPTHandMade(t *testing.T) {
	f32x4 := zipRec{name: "a/data/0", data: make([]byte, 16)}
	one := pkTensorOp("FloatStorage", "0", 4, 1, 2, 1)
	tests := []struct {
		name string
		file []byte
		err  string // "" for success
	}{
		{"ok", ptArchive(t, "}("+pkU("x")+one+"u", f32x4), ""},
		{"deflated pickle", makeZip(t, zipRec{"a/data.pkl", []byte("\x80\x02" + one + "."), zip.Deflate}, f32x4), ""},
		{"eval via STACK_GLOBAL", ptArchive(t, "\x8c\x08builtins\x8c\x04eval\x93"+pkU("1")+"\x85R"), "global builtins.eval is not allowed"},
		{"posix.system", ptArchive(t, pkG("posix", "system")+pkU("true")+"\x85R"), "global posix.system is not allowed"},
		{"torch.load itself", ptArchive(t, pkG("torch", "load")+pkU("x")+"\x85R"), "global torch.load is not allowed"},
		{"INST", ptArchive(t, "(ios\nsystem\n"), "opcode INST (0x69)"},
		{"NEWOBJ", ptArchive(t, pkG("collections", "OrderedDict")+")\x81"), "opcode NEWOBJ"},
		{"call a dtype", ptArchive(t, pkG("torch", "float32")+")R"), "torch.float32: a dtype is not callable"},
		{"BUILD on a tensor", ptArchive(t, one+"}b", f32x4), "BUILD on a tensor"},
		{"REDUCE on a str", ptArchive(t, pkU("x")+")R"), "REDUCE calls a str"},
		{"missing memo", ptArchive(t, "h\x05"), "memo entry 5 was never stored"},
		{"truncated", ptArchive(t, "X\xff\x00\x00\x00ab"), "exceeds the"},
		{"no STOP", makeZip(t, zipRec{name: "a/data.pkl", data: []byte("\x80\x02N")}), "no STOP"},
		{"two values", ptArchive(t, "NN"), "STOP with 2 values"},
		{"bad opcode", ptArchive(t, "\xff"), "not a pickle opcode"},
		{"protocol 6", makeZip(t, zipRec{name: "a/data.pkl", data: []byte("\x80\x06N.")}), "protocol 6"},
		{"view past storage", ptArchive(t, pkTensorOp("FloatStorage", "0", 4, 3, 2, 1), f32x4), "reaches element 4 of storage 0, which has 4"},
		{"numel mismatch", ptArchive(t, pkTensorOp("FloatStorage", "0", 5, 0, 2, 1), f32x4), "5 F32 elements need 20 bytes, record data/0 has 16"},
		{"missing storage", ptArchive(t, one), "record data/0 is missing"},
		{"storage type conflict", ptArchive(t, "("+one+pkTensorOp("IntStorage", "0", 4, 0, 1, 1)+"l", f32x4), "referenced as 4 F32 and as 4 I32"},
		{"unhashable key", ptArchive(t, "}]Ns"), "dict key is a list"},
		{"no data.pkl", makeZip(t, zipRec{name: "a/version", data: []byte("3\n")}), "no <archive>/data.pkl"},
		{"not a zip", []byte("hello, world, this is not a zip file"), "not a zip archive"},
		{"legacy torch.save", []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03."), "legacy torch.save format"},
		{"tensor with attributes (torch 2.x)", ptArchive(t, pkG("torch._tensor", "_rebuild_from_type_v2")+"("+pkG("torch._utils", "_rebuild_tensor_v2")+
			pkG("torch._tensor", "Tensor")+pkTensorArgs("FloatStorage", "0", 4, 0, 4, 1)+"}"+pkU("foo")+pkU("bar")+"stR", f32x4), ""},
		{"tensor subclass", ptArchive(t, pkG("torch._tensor", "_rebuild_from_type_v2")+"("+pkG("torch._utils", "_rebuild_tensor_v2")+
			pkG("__main__", "MyTensor")), "global __main__.MyTensor is not allowed"},
		{"from_type with a dict", ptArchive(t, pkG("torch._tensor", "_rebuild_from_type_v2")+"("+pkG("collections", "OrderedDict")+
			pkG("torch", "Tensor")+")}tR"), "collections.OrderedDict gives a dict, not a tensor"},
		{"TorchScript", ptArchive(t, "N", zipRec{name: "a/constants.pkl", data: []byte("\x80\x02).")}), "TorchScript archive"},
		{"bad byteorder", ptArchive(t, "N", zipRec{name: "a/byteorder", data: []byte("middle")}), `byteorder record is "middle"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := parseBytes(t, FormatPT, tt.file)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if l.Float32Bytes() != 16 { // every good case has one 4-float storage
					t.Errorf("%d float32 bytes, want 16: %+v", l.Float32Bytes(), l)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestPTSpecialStorages(t *testing.T) {
	f32x4 := zipRec{name: "a/data/0", data: []byte("0123456789abcdef")}
	one := pkTensorOp("FloatStorage", "0", 4, 1, 2, 1)

	// A deflated storage cannot be coded as floats: it stays in the Other bytes.
	file := ptArchive(t, one, zipRec{"a/data/0", f32x4.data, zip.Deflate})
	pt, err := ParsePT(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if len(pt.Storages) != 1 || pt.Storages[0].Offset != -1 {
		t.Errorf("deflated storage: %+v", pt.Storages)
	}
	if l, _ := parseBytes(t, FormatPT, file); l.Float32Bytes() != 0 || len(l.Segments) != 1 {
		t.Errorf("deflated storage: layout %+v", l)
	}

	// A big-endian archive's float32 storages are not little-endian floats.
	file = ptArchive(t, one, f32x4, zipRec{name: "a/byteorder", data: []byte("big")})
	l, err := parseBytes(t, FormatPT, file)
	if err != nil {
		t.Fatal(err)
	}
	if l.Float32Bytes() != 0 || len(l.Segments) != 3 || l.Segments[1].DType != "F32" {
		t.Errorf("big-endian archive: layout %+v", l)
	}

	// torch 2.x: an untyped storage viewed through _rebuild_tensor_v3 with
	// a dtype global takes that dtype.
	v3 := pkG("torch._utils", "_rebuild_tensor_v3") + "((" + pkU("storage") + pkG("torch.storage", "UntypedStorage") +
		pkU("0") + pkU("cpu") + "K\x10tQK\x00K\x04\x85K\x01\x85\x89" + pkG("collections", "OrderedDict") + ")R" +
		pkG("torch", "float32") + "tR"
	file = ptArchive(t, v3, f32x4)
	pt, err = ParsePT(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if len(pt.Tensors) != 1 || pt.Tensors[0].DType != "F32" || pt.Storages[0].DType != "F32" || pt.Storages[0].Numel != 4 {
		t.Errorf("v3 tensor: %+v %+v", pt.Tensors, pt.Storages)
	}
	if l, _ := parseBytes(t, FormatPT, file); l.Float32Bytes() != 16 {
		t.Errorf("v3 tensor: layout %+v", l)
	}
}

func FuzzParsePT(f *testing.F) {
	addTestdataSeeds(f, "*.pt")
	f.Fuzz(func(t *testing.T, file []byte) {
		pt, err := ParsePT(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			return
		}
		// Every tensor's view lies inside its storage, and every stored
		// storage inside the file.
		storages := map[string]PTStorage{}
		for _, s := range pt.Storages {
			if s.Offset >= 0 && (s.Offset+s.Length > int64(len(file))) {
				t.Fatalf("storage %+v outside the %d-byte file", s, len(file))
			}
			storages[s.Key] = s
		}
		for _, tt := range pt.Tensors {
			if s := storages[tt.Storage]; s.Offset >= 0 && s.DType == tt.DType {
				if n, _ := numElements(tt.Shape); n < 1<<16 {
					gather(t, file, s, tt)
				}
			}
		}
		parseBytes(t, FormatPT, file) // checks coverage when it succeeds
	})
}

// FuzzPTPickle fuzzes data.pkl alone (FuzzParsePT's mutations mostly
// break the zip and its CRCs): the pickle of reference file i, mutated,
// runs against that file's storage records.
func FuzzPTPickle(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.pt")
	var recs []ptEntries
	for i, name := range files {
		file, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		entries, err := readZip(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			f.Fatal(err)
		}
		rec := ptEntries{}
		var pkl []byte
		for j := range entries {
			e := &entries[j]
			_, n, _ := strings.Cut(e.name, "/")
			rec[n] = e
			if n == "data.pkl" {
				if pkl, err = readRecord(bytes.NewReader(file), e, maxPickleSize); err != nil {
					f.Fatal(err)
				}
			}
		}
		recs = append(recs, rec)
		f.Add(uint8(i), pkl)
	}
	f.Fuzz(func(t *testing.T, i uint8, pkl []byte) {
		pt := &PTFile{}
		if err := pt.readPickle(pkl, recs[int(i)%len(recs)]); err != nil {
			return
		}
		storages := map[string]PTStorage{}
		for _, s := range pt.Storages {
			storages[s.Key] = s
		}
		for _, tt := range pt.Tensors {
			s, ok := storages[tt.Storage]
			if !ok {
				t.Fatalf("tensor %+v: storage not listed", tt)
			}
			if n, _ := numElements(tt.Shape); n == 0 || s.DType != tt.DType {
				continue
			}
			last := tt.Offset
			for k, d := range tt.Shape {
				last += (d - 1) * tt.Stride[k]
			}
			if last >= s.Numel {
				t.Fatalf("tensor %+v reaches element %d of storage %+v", tt, last, s)
			}
		}
	})
}

// TestUnpickleOpcodes runs the opcodes torch.save does not use by default
// (other protocols and Python 2 strings) and checks the values built.
func TestUnpickleOpcodes(t *testing.T) {
	pkl := "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00(" +
		"U\x01k\x8a\x02\x00\x80" + // 'k': -32768 (LONG1)
		"T\x02\x00\x00\x00kk\x8b\x03\x00\x00\x00\x01\x00\x01" + // 'kk': 65537 (LONG4)
		"\x8d\x01\x00\x00\x00\x00\x00\x00\x00uC\x02ab" + // 'u': b'ab'
		"(NN1N0" + // POP_MARK, POP: nothing left
		"\x8c\x01b(K\x01K\x02l\x94r\x05\x00\x00\x00" + // 'b': [1, 2], memo 0 and 5
		"\x8c\x01cj\x05\x00\x00\x00" + // 'c': the same list
		"\x8c\x01fG\x3f\xf8\x00\x00\x00\x00\x00\x00" + // 'f': 1.5
		"\x8c\x01n\x8a\x00\x88\x86" + // 'n': (0, True)
		"d."
	v, err := unpickle([]byte(pkl), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := v.(*pkDict)
	if !ok {
		t.Fatalf("got a %s, want a dict", pkTypeName(v))
	}
	got := map[string]any{}
	for i, k := range d.keys {
		got[k.(string)] = d.vals[i]
	}
	if got["k"] != int64(-32768) || got["kk"] != int64(65537) || string(got["u"].(pkBytes)) != "ab" || got["f"] != 1.5 {
		t.Errorf("values %v", got)
	}
	l, ok := got["b"].(*pkList)
	if !ok || !reflect.DeepEqual(l.items, []any{int64(1), int64(2)}) || got["c"] != got["b"] {
		t.Errorf("b = %v, c = %v; want one shared list [1, 2]", got["b"], got["c"])
	}
	if n, ok := got["n"].(*pkTuple); !ok || !reflect.DeepEqual(n.items, []any{int64(0), true}) {
		t.Errorf("n = %v, want (0, True)", got["n"])
	}
	if len(d.keys) != 7 {
		t.Errorf("%d keys %v, want 7", len(d.keys), d.keys)
	}
}

// zip64Archive writes recs as a zip that uses the zip64 forms everywhere
// (as torch's writer does past 4 GiB): sizes and offsets in zip64 extra
// fields, and a zip64 end of central directory record.
func zip64Archive(recs []zipRec) []byte {
	var b, cd bytes.Buffer
	le := binary.LittleEndian
	for _, r := range recs {
		off := uint64(b.Len())
		crc := crc32.ChecksumIEEE(r.data)
		n := uint64(len(r.data))
		b.Write(le.AppendUint32(nil, zipLocalSig))
		b.Write(le.AppendUint16(le.AppendUint16(le.AppendUint16(nil, 45), 0), 0))
		b.Write(le.AppendUint32(le.AppendUint32(le.AppendUint32(le.AppendUint32(nil, 0), crc), 0xffffffff), 0xffffffff))
		b.Write(le.AppendUint16(le.AppendUint16(nil, uint16(len(r.name))), 20))
		b.WriteString(r.name)
		b.Write(le.AppendUint64(le.AppendUint64(le.AppendUint16(le.AppendUint16(nil, 1), 16), n), n))
		b.Write(r.data)

		cd.Write(le.AppendUint32(nil, zipCentral))
		cd.Write(le.AppendUint16(le.AppendUint16(le.AppendUint16(le.AppendUint16(nil, 45), 45), 0), 0))
		cd.Write(le.AppendUint32(le.AppendUint32(le.AppendUint32(le.AppendUint32(nil, 0), crc), 0xffffffff), 0xffffffff))
		cd.Write(le.AppendUint16(le.AppendUint16(le.AppendUint16(le.AppendUint16(le.AppendUint16(nil, uint16(len(r.name))), 28), 0), 0), 0))
		cd.Write(le.AppendUint32(le.AppendUint32(nil, 0), 0xffffffff))
		cd.WriteString(r.name)
		cd.Write(le.AppendUint64(le.AppendUint64(le.AppendUint64(le.AppendUint16(le.AppendUint16(nil, 1), 24), n), n), off))
	}
	cdOff, cdLen, count := uint64(b.Len()), uint64(cd.Len()), uint64(len(recs))
	b.Write(cd.Bytes())
	eocd64 := uint64(b.Len())
	b.Write(le.AppendUint64(le.AppendUint32(nil, zip64EOCDSig), 44))
	b.Write(le.AppendUint32(le.AppendUint32(le.AppendUint16(le.AppendUint16(nil, 45), 45), 0), 0))
	b.Write(le.AppendUint64(le.AppendUint64(le.AppendUint64(le.AppendUint64(nil, count), count), cdLen), cdOff))
	b.Write(le.AppendUint32(le.AppendUint64(le.AppendUint32(le.AppendUint32(nil, zip64LocSig), 0), eocd64), 1))
	b.Write(le.AppendUint32(nil, zipEOCDSig))
	b.Write(le.AppendUint16(le.AppendUint16(le.AppendUint16(le.AppendUint16(nil, 0), 0), 0xffff), 0xffff))
	b.Write(le.AppendUint16(le.AppendUint32(le.AppendUint32(nil, 0xffffffff), 0xffffffff), 0))
	return b.Bytes()
}

// TestPTZip64 rewrites a torch file in zip64 form: the same tensors, the
// same float32 bytes.
func TestPTZip64(t *testing.T) {
	file, err := os.ReadFile("testdata/state_dict.pt")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	var recs []zipRec
	for _, f := range zr.File {
		rc, _ := f.Open()
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, zipRec{name: f.Name, data: data})
	}
	z64 := zip64Archive(recs)
	if _, err := zip.NewReader(bytes.NewReader(z64), int64(len(z64))); err != nil {
		t.Fatalf("archive/zip cannot read the zip64 test file: %v", err)
	}
	want, _ := ParsePT(bytes.NewReader(file), int64(len(file)))
	got, err := ParsePT(bytes.NewReader(z64), int64(len(z64)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Tensors, want.Tensors) {
		t.Errorf("zip64 tensors %+v\nwant %+v", got.Tensors, want.Tensors)
	}
	l, err := parseBytes(t, FormatPT, z64)
	if err != nil {
		t.Fatal(err)
	}
	lw, _ := parseBytes(t, FormatPT, file)
	if l.Float32Bytes() != lw.Float32Bytes() {
		t.Errorf("zip64: %d float32 bytes, want %d", l.Float32Bytes(), lw.Float32Bytes())
	}
	for i, s := range got.Storages {
		if w := want.Storages[i]; !bytes.Equal(z64[s.Offset:s.Offset+s.Length], file[w.Offset:w.Offset+w.Length]) {
			t.Errorf("storage %s: bytes differ", s.Key)
		}
	}
}

func TestPTZipErrors(t *testing.T) {
	good := ptArchive(t, pkTensorOp("FloatStorage", "0", 4, 0, 4, 1), zipRec{name: "a/data/0", data: make([]byte, 16)})
	patch := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	local := bytes.Index(good, []byte("a/data/0\x00")) // the storage's local header name (data follows)
	tests := []struct {
		name string
		file []byte
		err  string
	}{
		{"local name differs", patch(func(b []byte) []byte { b[local+7] = '9'; return b }), `local header names it "a/data/9"`},
		{"local method differs", patch(func(b []byte) []byte { b[local-30+8] = 8; return b }), "local header says compression method 8"},
		{"no local header", patch(func(b []byte) []byte { b[local-30] = 'X'; return b }), "no local header at offset"},
		{"pickle CRC", patch(func(b []byte) []byte { i := bytes.Index(b, []byte("_rebuild")); b[i] = 'X'; return b }), "fails its CRC-32 check"},
		{"truncated", good[:len(good)-1], "not a zip archive"},
		{"central directory cut", patch(func(b []byte) []byte {
			e := len(b) - zipEOCDLen
			binary.LittleEndian.PutUint32(b[e+12:], binary.LittleEndian.Uint32(b[e+12:])+1000)
			return b
		}), "lies outside the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePT(bytes.NewReader(tt.file), int64(len(tt.file)))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want one containing %q", err, tt.err)
			}
		})
	}
}
