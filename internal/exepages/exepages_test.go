package exepages

import (
	"strings"
	"testing"
)

const sample = `00400000-0135d000 r-xp 00000000 fd:01 1234                               /usr/bin/agentgateway
Size:              15732 kB
Rss:               12200 kB
Private_Dirty:     12200 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me dw sd
0135d000-02599000 r--p 00f5d000 fd:01 1234                               /usr/bin/agentgateway
Rss:               12000 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
02599000-02652000 rw-p 02199000 fd:01 1234                               /usr/bin/agentgateway
Rss:                 612 kB
Private_Dirty:       600 kB
Anonymous:           600 kB
02700000-02800000 r--p 02300000 fd:01 1234                               /usr/bin/agentgateway
Rss:                  64 kB
Private_Dirty:         4 kB
Anonymous:             4 kB
7fb121488000-7fb1215de000 r-xp 00028000 fd:01 99                         /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                 920 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
7fb121600000-7fb121700000 r--p 00000000 fd:01 77                         /tmp/dir with space/x (deleted)
Rss:                   8 kB
c000000000-c004000000 rw-p 00000000 00:00 0 
Rss:                8192 kB
Anonymous:          8192 kB
`

func TestParseSmaps(t *testing.T) {
	maps, err := ParseSmaps(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 7 {
		t.Fatalf("got %d mappings, want 7: %+v", len(maps), maps)
	}
	first := maps[0]
	if first.Start != 0x400000 || first.End != 0x135d000 || first.Perms != "r-xp" || first.Inode != 1234 ||
		first.Path != "/usr/bin/agentgateway" || first.Rss != 12200<<10 {
		t.Errorf("first mapping = %+v", first)
	}
	if maps[2].Anonymous != 600<<10 {
		t.Errorf("rw mapping = %+v", maps[2])
	}
	if maps[5].Path != "/tmp/dir with space/x (deleted)" {
		t.Errorf("path with spaces = %q", maps[5].Path)
	}
	if maps[6].Path != "" || maps[6].Inode != 0 {
		t.Errorf("anonymous mapping = %+v", maps[6])
	}
}

func TestReleasable(t *testing.T) {
	maps, err := ParseSmaps(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{
		true,  // text
		true,  // rodata
		false, // writable data
		false, // read-only but holds a private (relocated) page
		false, // another file
		false, // another file, deleted
		false, // heap
	}
	for i, m := range maps {
		if got := m.releasable(1234, "/usr/bin/agentgateway"); got != want[i] {
			t.Errorf("mapping %d (%s %s): releasable = %v, want %v", i, m.Perms, m.Path, got, want[i])
		}
	}
}

func TestParseSmapsErrors(t *testing.T) {
	for _, in := range []string{
		"zzzz-0000 r-xp 0 0:0 1 /x\n",
		"1000 r-xp 0 0:0 1 /x\n",
		"2000-1000 r-xp 0 0:0 1 /x\n",
		"1000-2000 r-xp 0 0:0 notanumber /x\n",
		"1000-2000 r-xp\n",
	} {
		if _, err := ParseSmaps(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "smaps line 1") {
			t.Errorf("ParseSmaps(%q) error = %v, want one naming line 1", in, err)
		}
	}
	// Field lines before any mapping, odd units and junk values are skipped.
	maps, err := ParseSmaps(strings.NewReader("Rss: 5 kB\n1000-2000 r--p 0 0:0 7 /x\nRss: 12 MB\nPrivate_Dirty: -3 kB\nAnonymous: x kB\n"))
	if err != nil || len(maps) != 1 || maps[0].Rss != 0 || maps[0].Anonymous != 0 {
		t.Errorf("got %+v, %v", maps, err)
	}
}

func FuzzParseSmaps(f *testing.F) {
	f.Add(sample)
	f.Add("1000-2000 r--p 0 0:0 7 /x\nRss: 12 kB\n")
	f.Fuzz(func(t *testing.T, in string) {
		maps, err := ParseSmaps(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, m := range maps {
			if m.End < m.Start || m.Rss < 0 || m.Anonymous < 0 {
				t.Fatalf("bad mapping %+v from %q", m, in)
			}
		}
	})
}
