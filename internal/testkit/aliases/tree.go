package aliases

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// tree makes the filesystem side of a case under root: real directories, and the symbolic links,
// hard links and bind mounts that spellings go through. Every path it returns is correct as the
// kernel resolves it: it tracks the real directory each component leads to (".." after a symbolic
// link to a directory goes to the parent of the link's target, not back to where the link is), so
// a spelling may confuse a textual cleaner but never the kernel.
type tree struct {
	r    *rand.Rand
	root string   // absolute, no symbolic links
	dirs []string // the real directories, root first
	n    int
	log  []string // what was made, for messages
}

func newTree(r *rand.Rand, root string) (*tree, error) {
	t := &tree{r: r, root: root, dirs: []string{root}}
	for range 2 + r.IntN(4) {
		parent := t.dirs[r.IntN(len(t.dirs))]
		d := filepath.Join(parent, t.name("d"))
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
		t.dirs = append(t.dirs, d)
	}
	return t, nil
}

func (t *tree) name(prefix string) string {
	t.n++
	return fmt.Sprintf("%s%d", prefix, t.n)
}

// dir returns a random real directory of the tree.
func (t *tree) dir() string { return t.dirs[t.r.IntN(len(t.dirs))] }

// rel shows p relative to the root, for messages.
func (t *tree) rel(p string) string {
	if r, err := filepath.Rel(t.root, p); err == nil && !strings.HasPrefix(r, "..") {
		return "{root}/" + r
	}
	return p
}

// symlink makes, in the real directory dir, a symbolic link to the real path target: an absolute
// target, or a relative one spelled by a walk from dir (which may itself go through links). It
// returns the link's name.
func (t *tree) symlink(dir, target string, depth int) (string, error) {
	if !under(dir, t.root) {
		return "", fmt.Errorf("aliases: a link in %s, outside the tree %s", dir, t.root)
	}
	name := t.name("l")
	tgt := target
	if depth < 2 && t.r.IntN(2) == 0 && under(target, t.root) && target != t.root {
		w, err := t.walk(dir, filepath.Dir(target), depth+1)
		if err != nil {
			return "", err
		}
		tgt = join(append(w, filepath.Base(target)))
	}
	if err := os.Symlink(tgt, filepath.Join(dir, name)); err != nil {
		return "", err
	}
	t.log = append(t.log, fmt.Sprintf("%s -> %s", t.rel(filepath.Join(dir, name)), tgt))
	return name, nil
}

// under reports whether the real path p is dir or below it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/") || dir == "/"
}

// walk returns path components that lead, as the kernel resolves them, from the real directory
// from to the real directory to: real names, ".", empty components (a doubled separator), ".."
// (the parent of where the kernel is), symbolic links to directories (absolute or relative
// targets), and detours into a symbolic link and back out through "..".
func (t *tree) walk(from, to string, depth int) ([]string, error) {
	var out []string
	cur := from
	for steps := 0; cur != to; steps++ {
		// Links are made only inside the tree: outside it (a relative target that climbs above
		// the root), walk by real names.
		if steps > 8 || depth > 1 || !under(cur, t.root) || !under(to, t.root) {
			rel, err := filepath.Rel(cur, to) // real directories: text and kernel agree
			if err != nil {
				return nil, err
			}
			out = append(out, strings.Split(rel, "/")...)
			break
		}
		if under(to, cur) {
			child := filepath.Join(cur, strings.SplitN(strings.TrimPrefix(to, strings.TrimSuffix(cur, "/")+"/"), "/", 2)[0])
			switch t.r.IntN(7) {
			case 0:
				out = append(out, ".")
			case 1:
				if len(out) > 0 {
					out = append(out, "")
				}
			case 2:
				l, err := t.symlink(cur, child, depth)
				if err != nil {
					return nil, err
				}
				out, cur = append(out, l), child
			case 3:
				// A detour: into a link to some directory, then "..", which leads to that
				// directory's parent.
				d := t.dir()
				if d == t.root {
					continue
				}
				l, err := t.symlink(cur, d, depth)
				if err != nil {
					return nil, err
				}
				out, cur = append(out, l, ".."), filepath.Dir(d)
			default:
				out, cur = append(out, filepath.Base(child)), child
			}
			continue
		}
		if t.r.IntN(3) == 0 {
			// Jump through a link to an ancestor of to (within the tree).
			anc := to
			for anc != t.root && t.r.IntN(2) == 0 {
				anc = filepath.Dir(anc)
			}
			l, err := t.symlink(cur, anc, depth)
			if err != nil {
				return nil, err
			}
			out, cur = append(out, l), anc
			continue
		}
		out, cur = append(out, ".."), filepath.Dir(cur)
	}
	return out, nil
}

// join joins path components with "/" (empty components make doubled separators); no
// components make ".".
func join(parts []string) string {
	if len(parts) == 0 {
		return "."
	}
	if parts[0] == "" {
		parts = append([]string{"."}, parts...)
	}
	return strings.Join(parts, "/")
}

// spelling is one way to name a real file: a path, the working directory it is relative to (""
// for an absolute path), a hard link to make before the server starts, and a bind mount to make
// in the server's own mount namespace.
type spelling struct {
	path string
	dir  string
	link [2]string // when set, link[1] is made a hard link to link[0] before the server starts
	bind [2]string // when set, bind[0] is bind-mounted on bind[1] in the server's mount namespace
	how  string
}

// Last steps of a spelling (see spell).
const (
	finalName = iota
	finalSymlink
	finalHardLink
	finalBindDir
	finalBindFile
	numFinals
)

// spell returns a spelling of the real file file. final picks the last step: the real name, a
// symbolic link to it (or a chain of two), a hard link (made before the server starts, so the file
// must exist by then), or a bind mount of its directory or of the file itself (made in the
// server's mount namespace).
func (t *tree) spell(file string, final int) (spelling, error) {
	var sp spelling
	var hows []string
	targetDir, name := filepath.Dir(file), filepath.Base(file)
	switch final {
	case finalSymlink:
		d := t.dir()
		l, err := t.symlink(d, file, 0)
		if err != nil {
			return sp, err
		}
		if t.r.IntN(3) == 0 {
			d2 := t.dir()
			l2, err := t.symlink(d2, filepath.Join(d, l), 1)
			if err != nil {
				return sp, err
			}
			d, l = d2, l2
			hows = append(hows, "chain of symlinks to the file")
		} else {
			hows = append(hows, "symlink to the file")
		}
		targetDir, name = d, l
	case finalHardLink:
		d := t.dir()
		h := t.name("h")
		sp.link = [2]string{file, filepath.Join(d, h)}
		hows = append(hows, "hard link made while the first server runs")
		targetDir, name = d, h
	case finalBindDir, finalBindFile:
		e := filepath.Join(t.root, t.name("m"))
		if err := os.Mkdir(e, 0o755); err != nil {
			return sp, err
		}
		sp.bind = [2]string{filepath.Dir(file), e}
		hows = append(hows, "bind mount of the directory")
		targetDir = e
		if final == finalBindFile {
			f := filepath.Join(e, t.name("f"))
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				return sp, err
			}
			sp.bind = [2]string{file, f}
			hows[len(hows)-1] = "bind mount of the file"
			name = filepath.Base(f)
		}
	}
	start := t.root
	if t.r.IntN(2) == 0 {
		sp.dir = t.dir()
		start = sp.dir
		hows = append(hows, "relative to "+t.rel(sp.dir))
	}
	w, err := t.walk(start, targetDir, 0)
	if err != nil {
		return sp, err
	}
	p := join(append(w, name))
	if sp.dir == "" {
		p = t.root + "/" + p
	}
	sp.path = p
	sp.how = strings.Join(hows, ", ")
	if sp.how == "" {
		sp.how = "path"
	}
	return sp, nil
}
