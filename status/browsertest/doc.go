// Package browsertest loads the status page in headless Chromium. It is
// a module of its own, so that the browser driver is never a dependency
// of Warden's users. Its test needs Chromium (Debian's chromium package)
// at /usr/bin/chromium, or at WARDEN_CHROMIUM.
package browsertest
