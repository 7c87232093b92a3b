// Package regularfiletest makes a FIFO and a symlink to /dev/zero for a
// test, and checks that a reader refuses them promptly (see
// internal/regularfile). Its helpers exist on unix only.
package regularfiletest
