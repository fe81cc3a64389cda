package tensorio

import (
	"encoding/binary"
	"fmt"
	"io"
)

// A minimal reader of zip central directories (with zip64), enough to find
// where each entry's bytes lie in the file. It reads no entry data itself.

const (
	zipLocalSig  = 0x04034b50
	zipCentral   = 0x02014b50
	zipEOCDSig   = 0x06054b50
	zip64EOCDSig = 0x06064b50
	zip64LocSig  = 0x07064b50
	zipEOCDLen   = 22
	zipLocalLen  = 30
	zipCentLen   = 46
	zipMaxCommnt = 0xffff

	zipStored   = 0
	zipDeflated = 8
)

// zipEntry is one file of a zip archive, located in the file.
type zipEntry struct {
	name       string
	method     uint16
	flags      uint16
	crc32      uint32
	csize      int64 // compressed (stored) size
	usize      int64 // uncompressed size
	header     int64 // offset of the local header
	dataOffset int64 // offset of the entry's bytes
}

type zipError string

func (e zipError) Error() string { return "zip: " + string(e) }

func zipErrorf(format string, args ...any) error { return zipError(fmt.Sprintf(format, args...)) }

// readZip reads the central directory of the zip file r of the given size
// and checks every entry's local header against it.
func readZip(r io.ReaderAt, size int64) ([]zipEntry, error) {
	cdOff, cdSize, count, err := zipEOCD(r, size)
	if err != nil {
		return nil, err
	}
	if cdSize > size || cdOff > size-cdSize {
		return nil, zipErrorf("central directory [%d, +%d) lies outside the %d-byte file", cdOff, cdSize, size)
	}
	if count > uint64(cdSize/zipCentLen) {
		return nil, zipErrorf("%d entries do not fit in a %d-byte central directory", count, cdSize)
	}
	cd, err := readAt(r, cdOff, cdSize)
	if err != nil {
		return nil, zipErrorf("reading the central directory: %v", err)
	}
	entries := make([]zipEntry, 0, count)
	p := cd
	for i := uint64(0); i < count; i++ {
		if len(p) < zipCentLen || binary.LittleEndian.Uint32(p) != zipCentral {
			return nil, zipErrorf("central directory entry %d is malformed", i)
		}
		e := zipEntry{
			flags:  binary.LittleEndian.Uint16(p[8:]),
			method: binary.LittleEndian.Uint16(p[10:]),
			crc32:  binary.LittleEndian.Uint32(p[16:]),
			csize:  int64(binary.LittleEndian.Uint32(p[20:])),
			usize:  int64(binary.LittleEndian.Uint32(p[24:])),
			header: int64(binary.LittleEndian.Uint32(p[42:])),
		}
		n := int(binary.LittleEndian.Uint16(p[28:]))
		m := int(binary.LittleEndian.Uint16(p[30:]))
		k := int(binary.LittleEndian.Uint16(p[32:]))
		if len(p) < zipCentLen+n+m+k {
			return nil, zipErrorf("central directory entry %d runs past the directory", i)
		}
		e.name = string(p[zipCentLen : zipCentLen+n])
		if err := e.zip64(p[zipCentLen+n : zipCentLen+n+m]); err != nil {
			return nil, err
		}
		p = p[zipCentLen+n+m+k:]
		if err := e.checkLocal(r, cdOff); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// zipEOCD finds the end of central directory record (zip64 or not) and
// returns the central directory's offset, size and entry count.
func zipEOCD(r io.ReaderAt, size int64) (off, n int64, count uint64, err error) {
	if size < zipEOCDLen {
		return 0, 0, 0, zipErrorf("file of %d bytes is too short for a zip archive", size)
	}
	tailLen := min(size, zipEOCDLen+zipMaxCommnt)
	tail, err := readAt(r, size-tailLen, tailLen)
	if err != nil {
		return 0, 0, 0, zipErrorf("reading the end of the file: %v", err)
	}
	at := -1
	for i := len(tail) - zipEOCDLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(tail[i:]) == zipEOCDSig &&
			int(binary.LittleEndian.Uint16(tail[i+20:])) == len(tail)-i-zipEOCDLen {
			at = i
			break
		}
	}
	if at < 0 {
		return 0, 0, 0, zipError("no end of central directory record: not a zip archive")
	}
	e := tail[at:]
	if binary.LittleEndian.Uint16(e[4:]) != 0 || binary.LittleEndian.Uint16(e[6:]) != 0 {
		return 0, 0, 0, zipError("multi-disk archives are not supported")
	}
	count = uint64(binary.LittleEndian.Uint16(e[10:]))
	n = int64(binary.LittleEndian.Uint32(e[12:]))
	off = int64(binary.LittleEndian.Uint32(e[16:]))
	eocd := size - tailLen + int64(at)
	if count != 0xffff && n != 0xffffffff && off != 0xffffffff {
		return off, n, count, nil
	}
	// zip64: a locator just before the record points at the zip64 record.
	if eocd < 20 {
		return 0, 0, 0, zipError("zip64 end of central directory locator is missing")
	}
	loc, err := readAt(r, eocd-20, 20)
	if err != nil || binary.LittleEndian.Uint32(loc) != zip64LocSig {
		return 0, 0, 0, zipError("zip64 end of central directory locator is missing")
	}
	roff := binary.LittleEndian.Uint64(loc[8:])
	if roff > uint64(eocd-20) || uint64(eocd-20)-roff < 56 {
		return 0, 0, 0, zipErrorf("zip64 end of central directory record offset %d is out of range", roff)
	}
	rec, err := readAt(r, int64(roff), 56)
	if err != nil || binary.LittleEndian.Uint32(rec) != zip64EOCDSig {
		return 0, 0, 0, zipError("zip64 end of central directory record is missing")
	}
	count = binary.LittleEndian.Uint64(rec[32:])
	un, uoff := binary.LittleEndian.Uint64(rec[40:]), binary.LittleEndian.Uint64(rec[48:])
	if un > uint64(size) || uoff > uint64(size) {
		return 0, 0, 0, zipErrorf("zip64 central directory [%d, +%d) lies outside the %d-byte file", uoff, un, size)
	}
	return int64(uoff), int64(un), count, nil
}

// zip64 reads the zip64 extended information extra field, which replaces
// the 32-bit sizes and offset that are 0xffffffff.
func (e *zipEntry) zip64(extra []byte) error {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		n := int(binary.LittleEndian.Uint16(extra[2:]))
		if len(extra) < 4+n {
			return zipErrorf("entry %q: extra field runs past its end", e.name)
		}
		f := extra[4 : 4+n]
		extra = extra[4+n:]
		if id != 0x0001 {
			continue
		}
		for _, v := range []*int64{&e.usize, &e.csize, &e.header} {
			if *v != 0xffffffff {
				continue
			}
			if len(f) < 8 {
				return zipErrorf("entry %q: zip64 extra field is too short", e.name)
			}
			u := binary.LittleEndian.Uint64(f)
			if u > 1<<62 {
				return zipErrorf("entry %q: zip64 size or offset %d is out of range", e.name, u)
			}
			*v = int64(u)
			f = f[8:]
		}
	}
	return nil
}

// checkLocal reads the entry's local header, checks that it agrees with
// the central directory, and sets dataOffset. The entry's data must end
// before the central directory at cdOff.
func (e *zipEntry) checkLocal(r io.ReaderAt, cdOff int64) error {
	if e.header > cdOff-zipLocalLen {
		return zipErrorf("entry %q: local header offset %d is past the central directory at %d", e.name, e.header, cdOff)
	}
	h, err := readAt(r, e.header, zipLocalLen)
	if err != nil {
		return zipErrorf("entry %q: reading the local header: %v", e.name, err)
	}
	if binary.LittleEndian.Uint32(h) != zipLocalSig {
		return zipErrorf("entry %q: no local header at offset %d", e.name, e.header)
	}
	if m := binary.LittleEndian.Uint16(h[8:]); m != e.method {
		return zipErrorf("entry %q: local header says compression method %d, central directory %d", e.name, m, e.method)
	}
	n := int64(binary.LittleEndian.Uint16(h[26:]))
	x := int64(binary.LittleEndian.Uint16(h[28:]))
	e.dataOffset = e.header + zipLocalLen + n + x
	if n != int64(len(e.name)) || e.dataOffset > cdOff {
		return zipErrorf("entry %q: local header at %d is malformed", e.name, e.header)
	}
	name, err := readAt(r, e.header+zipLocalLen, n)
	if err != nil {
		return zipErrorf("entry %q: reading the local header: %v", e.name, err)
	}
	if string(name) != e.name {
		return zipErrorf("entry %q: local header names it %q", e.name, name)
	}
	if e.flags&8 == 0 { // no data descriptor: the local header has the sizes
		crc := binary.LittleEndian.Uint32(h[14:])
		cs, us := int64(binary.LittleEndian.Uint32(h[18:])), int64(binary.LittleEndian.Uint32(h[22:]))
		if crc != e.crc32 || (cs != e.csize && cs != 0xffffffff) || (us != e.usize && us != 0xffffffff) {
			return zipErrorf("entry %q: local header's CRC or sizes differ from the central directory's", e.name)
		}
	}
	if e.csize > cdOff-e.dataOffset {
		return zipErrorf("entry %q: %d bytes at offset %d run past the central directory at %d", e.name, e.csize, e.dataOffset, cdOff)
	}
	if e.method == zipStored && e.csize != e.usize {
		return zipErrorf("entry %q is stored but its sizes differ (%d, %d)", e.name, e.csize, e.usize)
	}
	return nil
}
