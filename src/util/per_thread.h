// per_thread<T>(): one T per thread, created on first use, deleted when the
// thread exits. Use it instead of a `thread_local` object with a destructor:
// with Debian 12's mingw-w64 GCC 12 (emulated TLS) such a destructor can run
// after the object's storage was freed, which crashed udisc.exe's event
// loops at thread exit under Wine (heap corruption). A pthread key's
// destructor receives the heap pointer itself and touches no TLS storage;
// pthread keys exist on Linux and in mingw-w64's winpthreads alike.
#pragma once

#include <pthread.h>

namespace udisc {

// Tag distinguishes independent per-thread objects of the same type.
template <typename T, typename Tag = T>
T& per_thread() {
  static const pthread_key_t key = [] {
    pthread_key_t k;
    pthread_key_create(&k, [](void* object) { delete static_cast<T*>(object); });
    return k;
  }();
  void* object = pthread_getspecific(key);
  if (object == nullptr) {
    object = new T();
    pthread_setspecific(key, object);
  }
  return *static_cast<T*>(object);
}

}  // namespace udisc
