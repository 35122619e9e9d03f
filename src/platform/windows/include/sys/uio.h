// struct iovec for the Windows build: the portable iSCSI connection hands its
// output to the event loop as iovecs (connection.h gather()); server_windows.cc
// turns them into WSABUFs. Same layout and names as POSIX <sys/uio.h>.
#pragma once

#include <stddef.h>

struct iovec {
  void* iov_base;
  size_t iov_len;
};
