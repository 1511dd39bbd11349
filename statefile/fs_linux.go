package statefile

import (
	"fmt"
	"os"
	"syscall"
)

// localFS are the filesystems, by statfs magic number, where flock is the kernel's lock on the
// inode: every process that opens the file on this host meets it, and no other host can open the
// file. A state file on any other filesystem is refused unless Settings.TrustFSLocks.
var localFS = map[uint32]string{
	0xEF53:     "ext2/ext3/ext4",
	0x58465342: "xfs",
	0x9123683E: "btrfs",
	0x01021994: "tmpfs",
	0x858458F6: "ramfs",
	0xF2F52010: "f2fs",
	0x2FC12FC1: "zfs",
	0xCA451A4E: "bcachefs",
	0x3153464A: "jfs",
	0x52654973: "reiserfs",
	0x3434:     "nilfs2",
	0x794C7630: "overlayfs",
	0xF15F:     "ecryptfs",
	0x4D44:     "vfat",
	0x2011BAB0: "exfat",
	0x482B:     "hfsplus",
}

// remoteFS names filesystems known to be network or user-space ones, for messages.
var remoteFS = map[uint32]string{
	0x6969:     "nfs",
	0x517B:     "smb",
	0xFF534D42: "cifs",
	0xFE534D42: "smb2",
	0x65735546: "fuse",
	0x01021997: "9p",
	0x00C36400: "ceph",
	0x5346414F: "afs",
	0x6B414653: "kafs",
	0x01161970: "gfs2",
	0x7461636F: "ocfs2",
	0x0BD00BD0: "lustre",
	0x13661366: "orangefs",
	0x786F4256: "vboxsf",
	0x47504653: "gpfs",
}

// statfsType returns the statfs magic number of the filesystem holding the open file f.
func statfsType(f *os.File) (uint32, error) {
	var st syscall.Statfs_t
	for {
		err := syscall.Fstatfs(int(f.Fd()), &st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return uint32(st.Type), nil
	}
}

// checkFS returns an error wrapping ErrUntrustedFS unless the filesystem holding f, whose magic
// number fsType reads (nil: statfs), is one where flock is a real lock (localFS).
func checkFS(f *os.File, path string, fsType func(*os.File) (uint32, error)) error {
	if fsType == nil {
		fsType = statfsType
	}
	magic, err := fsType(f)
	if err != nil {
		return fmt.Errorf("statefile: statfs %s: %w", path, err)
	}
	if _, ok := localFS[magic]; ok {
		return nil
	}
	name, ok := remoteFS[magic]
	if !ok {
		name = "unknown"
	}
	return fmt.Errorf("%w: %s is on a filesystem of type %s (statfs magic %#x), where flock may lock nothing across hosts, "+
		"or nothing at all (FUSE, NFS mounted without lock support): two servers could keep the file at once; "+
		"keep state files on a local disk (ext4, xfs, btrfs, tmpfs, zfs, …), or vouch that this filesystem's locks "+
		"keep every process that may open the file apart (snowfall --trust-fs-locks)", ErrUntrustedFS, path, name, magic)
}
