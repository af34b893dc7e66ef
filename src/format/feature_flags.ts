/**
 * casync's feature flags (src/caformat.h): the low bits say what an archive
 * records, the high bits what was left out and which digest names the chunks.
 * An index carries its archive's set (a blob's index only the high bits).
 * Pure: no I/O.
 */

/** The high bits, shared by indexes and archives. */
export const EXCLUDE_FILE = 0x1000000000000000n;
export const SHA512_256 = 0x2000000000000000n;
export const EXCLUDE_SUBMOUNTS = 0x4000000000000000n;
export const EXCLUDE_NODUMP = 0x8000000000000000n;

/** Feature flags: what an archive records. Every ENTRY carries the archive's set. */
export const WITH_16BIT_UIDS = 0x1n;
export const WITH_32BIT_UIDS = 0x2n;
export const WITH_USER_NAMES = 0x4n;
export const WITH_SEC_TIME = 0x8n;
export const WITH_USEC_TIME = 0x10n;
export const WITH_NSEC_TIME = 0x20n;
export const WITH_2SEC_TIME = 0x40n;
export const WITH_READ_ONLY = 0x80n;
export const WITH_PERMISSIONS = 0x100n;
export const WITH_SYMLINKS = 0x200n;
export const WITH_DEVICE_NODES = 0x400n;
export const WITH_FIFOS = 0x800n;
export const WITH_SOCKETS = 0x1000n;
/** FAT attributes (hidden, system, archive) and chattr(1) flags: 0x2000 through 0x2000000. */
export const WITH_FAT_ATTRS = 0xe000n;
export const WITH_CHATTR = 0x3ff0000n;
export const WITH_SUBVOLUME = 0x4000000n;
export const WITH_SUBVOLUME_RO = 0x8000000n;
export const WITH_XATTRS = 0x10000000n;
export const WITH_ACL = 0x20000000n;
export const WITH_SELINUX = 0x40000000n;
export const WITH_FCAPS = 0x80000000n;
export const WITH_QUOTA_PROJID = 0x100000000n;
/** Every bit casync knows; an archive with any other bit set is from a newer format. */
export const FEATURE_FLAGS_MAX = 0x1ffffffffn | EXCLUDE_FILE | SHA512_256 | EXCLUDE_SUBMOUNTS |
  EXCLUDE_NODUMP;

/** chattr(1)'s nodump flag as an archive records it (one of WITH_CHATTR's bits). */
const WITH_FLAG_NODUMP = 0x100000n;

/**
 * Why a feature set is not one casync writes or reads (bits it does not know,
 * or bits its normal form never has together, as its
 * ca_feature_flags_are_normalized says), or undefined when it is fine.
 */
export function featureFlagsProblem(flags: bigint): string | undefined {
  if (flags & ~FEATURE_FLAGS_MAX) return "include bits casync does not know";
  const both = (a: bigint, b: bigint) => (flags & a) !== 0n && (flags & b) !== 0n;
  const contradictions = [
    both(WITH_NSEC_TIME, WITH_USEC_TIME | WITH_SEC_TIME | WITH_2SEC_TIME),
    both(WITH_USEC_TIME, WITH_SEC_TIME | WITH_2SEC_TIME),
    both(WITH_SEC_TIME, WITH_2SEC_TIME),
    both(WITH_16BIT_UIDS, WITH_32BIT_UIDS),
    both(WITH_PERMISSIONS, WITH_READ_ONLY),
    both(WITH_ACL, WITH_PERMISSIONS | WITH_READ_ONLY),
    (flags & WITH_ACL) !== 0n &&
    (flags & (WITH_16BIT_UIDS | WITH_32BIT_UIDS | WITH_USER_NAMES)) === 0n,
    both(EXCLUDE_NODUMP, WITH_FLAG_NODUMP),
    (flags & WITH_SUBVOLUME_RO) !== 0n && (flags & WITH_SUBVOLUME) === 0n,
  ];
  return contradictions.includes(true) ? "combine bits that contradict each other" : undefined;
}
