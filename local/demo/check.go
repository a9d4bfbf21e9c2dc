package demo

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/efactori/drivesync/local/devstack"
	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/layout"
)

// placed is one file found in the Drive, with where it is.
type placed struct {
	node    driveemu.Node
	folders []string // folder names below the company folder; nil outside it
	inside  bool     // below the company folder
}

// docID is the eFactori document a Drive file holds, from drivesync's private app property.
func docID(n driveemu.Node) string {
	return n.AppProperties[devstack.ClientID][layout.PropDocumentID]
}

// expectation is what the Drive must hold: eFactori's live documents of the company, where the
// connection's layout puts them.
type expectation struct {
	docs        []drivesync.Document
	md5         map[string]string // document ID → md5 of its current content
	layout      drivesync.FolderLayout
	locale      drivesync.Locale
	companyName string
	targetID    string
}

// contentMD5s streams the current content of each document from the eFactori stand-in and
// returns its md5, the checksum Drive reports, by document ID.
func contentMD5s(ctx context.Context, ef *efactori.Server, docs []drivesync.Document) (map[string]string, error) {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	out := make(map[string]string, len(docs))
	slots := make(chan struct{}, 8)
	for _, d := range docs {
		if err := ctx.Err(); err != nil {
			wg.Wait()
			return nil, fmt.Errorf("content checksums: %w", err)
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			h := md5.New()
			err := ef.WriteContent(h, d.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out[d.ID] = hex.EncodeToString(h.Sum(nil))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("content checksums: %w", err)
	}
	return out, nil
}

// findNode returns the node with id in the tree rooted at n.
func findNode(n *driveemu.Node, id string) *driveemu.Node {
	if n.ID == id {
		return n
	}
	for i := range n.Children {
		if f := findNode(&n.Children[i], id); f != nil {
			return f
		}
	}
	return nil
}

// companyFolder returns the company folder drivesync made in the target folder.
func companyFolder(tree driveemu.Tree, exp expectation) (*driveemu.Node, []string) {
	var problems []string
	t := findNode(&tree.Root, exp.targetID)
	if t == nil {
		return nil, []string{fmt.Sprintf("the target folder %s is not in My Drive", exp.targetID)}
	}
	var company *driveemu.Node
	for i, c := range t.Children {
		switch {
		case c.Folder && !c.Trashed && c.Name == exp.companyName && company == nil:
			company = &t.Children[i]
		default:
			problems = append(problems, fmt.Sprintf("unexpected %q in the target folder", c.Name))
		}
	}
	if company == nil {
		problems = append(problems, fmt.Sprintf("no folder %q in the target folder", exp.companyName))
	}
	return company, problems
}

// allFiles returns every file of the account's Drive, marking those below the company folder.
func allFiles(tree driveemu.Tree, company *driveemu.Node) []placed {
	var out []placed
	var walk func(n driveemu.Node, folders []string, inside bool)
	walk = func(n driveemu.Node, folders []string, inside bool) {
		for _, c := range n.Children {
			if c.Folder {
				if company != nil && c.ID == company.ID {
					walk(c, []string{}, true)
					continue
				}
				var sub []string
				if inside {
					sub = append(slices.Clone(folders), c.Name)
				}
				walk(c, sub, inside)
				continue
			}
			out = append(out, placed{node: c, folders: folders, inside: inside})
		}
	}
	walk(tree.Root, nil, false)
	for _, d := range tree.SharedDrives {
		walk(d, nil, false)
	}
	for _, o := range tree.Orphans {
		if o.Folder {
			walk(o, nil, false)
		} else {
			out = append(out, placed{node: o})
		}
	}
	return out
}

// verdict is the outcome of comparing one Drive file with eFactori.
type verdict struct {
	ok  bool
	why string
}

// check compares the Drive with eFactori: every live document exactly once, in its layout
// folder, with its name, revision and content; nothing else in the company folder and no
// document file anywhere else. It returns the problems (nil when the Drive matches) and a
// verdict per Drive file ID, for the printed tree.
func check(tree driveemu.Tree, exp expectation) ([]string, map[string]verdict) {
	company, problems := companyFolder(tree, exp)
	byDoc := map[string][]placed{}
	verdicts := map[string]verdict{}
	for _, f := range allFiles(tree, company) {
		id := docID(f.node)
		switch {
		case f.node.Trashed:
			if f.inside || id != "" {
				problems = append(problems, fmt.Sprintf("%q is in the trash", f.node.Name))
				verdicts[f.node.ID] = verdict{why: "in the trash"}
			}
		case id == "" && f.inside:
			problems = append(problems, fmt.Sprintf("%q in %s is not an eFactori document", f.node.Name, folderPath(f.folders)))
			verdicts[f.node.ID] = verdict{why: "not an eFactori document"}
		case id == "":
		case !f.inside:
			problems = append(problems, fmt.Sprintf("document %s is outside the company folder, as %q", id, f.node.Name))
		default:
			byDoc[id] = append(byDoc[id], f)
		}
	}
	// Two files of one folder may not share a name, case aside (drivesync's naming rule,
	// layout.FileNames): count each folded name per folder.
	names := map[string]int{}
	for _, fs := range byDoc {
		for _, f := range fs {
			names[folderPath(f.folders)+layout.FoldName(f.node.Name)]++
		}
	}
	live := map[string]bool{}
	for _, d := range exp.docs {
		live[layout.DocumentIDValue(d.ID)] = true
		fs := byDoc[layout.DocumentIDValue(d.ID)]
		if len(fs) != 1 {
			problems = append(problems, fmt.Sprintf("document %s (%q) is in Drive %d times, want once", d.ID, layout.FileName(d), len(fs)))
			for _, f := range fs {
				verdicts[f.node.ID] = verdict{why: "duplicate"}
			}
			continue
		}
		f := fs[0]
		var why []string
		if want := layout.Folders(d, exp.layout, exp.locale); !slices.Equal(f.folders, want) {
			why = append(why, fmt.Sprintf("in %s, want %s", folderPath(f.folders), folderPath(want)))
		}
		if want := layout.FileNames(d); !slices.Contains(want, f.node.Name) {
			why = append(why, fmt.Sprintf("named %q, want one of %q", f.node.Name, want))
		} else if n := names[folderPath(f.folders)+layout.FoldName(f.node.Name)]; n > 1 {
			why = append(why, fmt.Sprintf("named %q like %d other files of %s", f.node.Name, n-1, folderPath(f.folders)))
		}
		if rev := f.node.AppProperties[devstack.ClientID][layout.PropRevision]; rev != strconv.FormatInt(d.Revision, 10) {
			why = append(why, fmt.Sprintf("holds revision %s, want %d", rev, d.Revision))
		}
		if f.node.MD5 != exp.md5[d.ID] || f.node.Size != d.Size {
			why = append(why, fmt.Sprintf("content differs (%d bytes, md5 %s; eFactori has %d bytes, md5 %s)",
				f.node.Size, f.node.MD5, d.Size, exp.md5[d.ID]))
		}
		if len(why) > 0 {
			problems = append(problems, fmt.Sprintf("document %s: %s", d.ID, strings.Join(why, "; ")))
		}
		verdicts[f.node.ID] = verdict{ok: len(why) == 0, why: strings.Join(why, "; ")}
	}
	var extra []string
	for id, fs := range byDoc {
		if !live[id] {
			extra = append(extra, id)
			for _, f := range fs {
				verdicts[f.node.ID] = verdict{why: "no such live document in eFactori"}
			}
		}
	}
	slices.Sort(extra)
	for _, id := range extra {
		problems = append(problems, fmt.Sprintf("document %s is in Drive but not live in eFactori", id))
	}
	return problems, verdicts
}

func folderPath(names []string) string {
	if len(names) == 0 {
		return "the company folder"
	}
	return strings.Join(names, "/") + "/"
}

// printTree writes the target folder's subtree with sizes and a ✓ per file that matches
// eFactori. Beyond maxListedFiles files, folders show counts instead of every file.
func printTree(w io.Writer, tree driveemu.Tree, targetID string, verdicts map[string]verdict, notes map[string]string) {
	t := findNode(&tree.Root, targetID)
	if t == nil {
		fmt.Fprintf(w, "   (the target folder %s is gone)\n", targetID)
		return
	}
	total := countFiles(*t)
	var walk func(n driveemu.Node, depth int)
	walk = func(n driveemu.Node, depth int) {
		ind := strings.Repeat("   ", depth)
		if n.Folder {
			files, size, ok := folderStats(n, verdicts)
			if total > maxListedFiles && files > 0 && !hasSubfolders(n) {
				mark := "✓"
				if ok != files {
					mark = fmt.Sprintf("✗ %d of %d match", ok, files)
				}
				fmt.Fprintf(w, "%s%s/  %d files, %s %s\n", ind, n.Name, files, humanSize(size), mark)
				return
			}
			fmt.Fprintf(w, "%s%s/\n", ind, n.Name)
			for _, c := range n.Children {
				walk(c, depth+1)
			}
			return
		}
		v := verdicts[n.ID]
		mark := "✓"
		if !v.ok {
			mark = "✗ " + v.why
		}
		if v.why == "" && !v.ok {
			mark = "✗"
		}
		line := fmt.Sprintf("%s%s  %s %s", ind, n.Name, humanSize(n.Size), mark)
		if note := notes[docID(n)]; note != "" {
			line += "  ← " + note
		}
		fmt.Fprintln(w, line)
	}
	walk(*t, 2)
}

// maxListedFiles is how many files the printed tree lists one by one.
const maxListedFiles = 120

func countFiles(n driveemu.Node) int {
	c := 0
	for _, k := range n.Children {
		if k.Folder {
			c += countFiles(k)
		} else {
			c++
		}
	}
	return c
}

func hasSubfolders(n driveemu.Node) bool {
	return slices.ContainsFunc(n.Children, func(c driveemu.Node) bool { return c.Folder })
}

func folderStats(n driveemu.Node, verdicts map[string]verdict) (files int, size int64, ok int) {
	for _, c := range n.Children {
		if c.Folder {
			continue
		}
		files++
		size += c.Size
		if verdicts[c.ID].ok {
			ok++
		}
	}
	return files, size, ok
}

func humanSize(b int64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
