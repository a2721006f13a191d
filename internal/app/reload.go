package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/agentgw/agentgateway/internal/compile"
	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/exepages"
)

// reloadDebounce coalesces the bursts of events an editor or a `kubectl`
// ConfigMap update produces into one reload.
const reloadDebounce = 250 * time.Millisecond

// watch reloads the config whenever path changes. It watches the directory,
// not the file, so that editors that replace the file (write-and-rename) and
// Kubernetes ConfigMap symlink swaps are seen.
func (a *App) watch(ctx context.Context, path string) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		a.log.Error("cannot watch config file; hot reload is off", "file", path, "error", err)
		return
	}
	defer func() { _ = w.Close() }()
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	dir := filepath.Dir(abs)
	if err := w.Add(dir); err != nil {
		a.log.Error("cannot watch config directory; hot reload is off", "dir", dir, "error", err)
		return
	}
	a.log.Debug("watching config", "file", abs)

	last, _ := os.ReadFile(abs)
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if !a.concerns(ev, abs) {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(reloadDebounce)
			} else {
				timer.Reset(reloadDebounce)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			a.log.Warn("config watch error", "error", err)
		case <-fire:
			fire = nil
			data, err := readFile(abs)
			if err != nil {
				// A file mid-replacement may be briefly absent; the next event retries.
				a.log.Warn("config reload skipped", "error", err)
				continue
			}
			if bytes.Equal(data, last) {
				continue
			}
			last = data
			_ = a.Reload(data, abs)
		}
	}
}

// concerns reports whether ev may have changed the file at abs (the file
// itself, or a ConfigMap-style `..data` symlink swap in its directory).
func (a *App) concerns(ev fsnotify.Event, abs string) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	name := filepath.Clean(ev.Name)
	return name == abs || filepath.Base(name) == "..data"
}

// Reload loads, validates and compiles data, then swaps it in atomically and
// reconciles the listeners. On any error the running config stays in place,
// the error is logged and counted, and the admin API shows it.
func (a *App) Reload(data []byte, source string) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	start := time.Now()
	err := a.reload(data)
	if err != nil {
		a.log.Error("config reload failed; keeping the running config", "source", source, "error", err.Error())
		a.recordReload(false, source, err)
		return err
	}
	a.log.Info("config reloaded", "source", source, "took", time.Since(start).Round(time.Microsecond).String())
	a.recordReload(true, source, nil)
	go a.releaseExePages("reload")
	return nil
}

// releaseExePages gives back the executable's pages that loading a config
// touched (package exepages); AGW_RELEASE_EXE_PAGES=off turns it off.
func (a *App) releaseExePages(after string) {
	if os.Getenv("AGW_RELEASE_EXE_PAGES") == "off" {
		return
	}
	n, err := exepages.Release()
	if err != nil {
		a.log.Warn("could not release the executable's start-up pages", "after", after, "error", err)
		return
	}
	a.log.Debug("released the executable's pages", "after", after, "bytes", n)
}

func (a *App) reload(data []byte) error {
	cfg, err := config.Load(data, os.LookupEnv)
	if err != nil {
		return err
	}
	snap, err := compile.Compile(cfg, a.deps)
	if err != nil {
		return err
	}
	old := a.cur.Load()
	if !old.Settings.SameStatic(snap.Settings) {
		a.log.Warn("admin, stats and readiness addresses are read at start-up only; restart to change them")
	}
	// Open new ports first (all-or-nothing: a port that cannot be opened
	// leaves everything as it was), then swap the snapshot. For the instant
	// between the two, a freshly opened port answers 503 "listener removed".
	if err := a.lm.Reconcile(a.portHandlers(snap)); err != nil {
		snap.Close()
		return fmt.Errorf("listeners: %w", err)
	}
	a.cur.Store(snap)
	snap.Activate()
	a.level.Set(snap.Settings.SlogLevel)
	for _, w := range snap.Warnings {
		a.log.Warn(w)
	}
	// In-flight requests hold their own reference to the old snapshot's
	// handlers; closing only releases idle upstream connections.
	old.Close()
	return nil
}
