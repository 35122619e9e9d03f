// Status and Result: errors as values across module boundaries.
//
// A Status is either ok() or carries a Code and a human-readable message that
// names what went wrong and where (file, line, LBA, field). Messages gain
// context as they travel up: callers use with_context("opening 'x.cue'").
// Thread safety: plain values; safe to copy between threads.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace udisc {

class Status {
 public:
  enum class Code { ok, not_found, corruption, invalid_argument, io_error, not_supported, out_of_range };

  Status() = default;
  static Status Ok() { return {}; }
  static Status NotFound(std::string msg) { return {Code::not_found, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::corruption, std::move(msg)}; }
  static Status InvalidArgument(std::string msg) { return {Code::invalid_argument, std::move(msg)}; }
  static Status IoError(std::string msg) { return {Code::io_error, std::move(msg)}; }
  static Status NotSupported(std::string msg) { return {Code::not_supported, std::move(msg)}; }
  static Status OutOfRange(std::string msg) { return {Code::out_of_range, std::move(msg)}; }

  bool ok() const { return code_ == Code::ok; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "context: message" — used as an error travels outward.
  Status with_context(const std::string& context) const {
    if (ok()) return *this;
    return {code_, context + ": " + message_};
  }
  std::string to_string() const { return ok() ? std::string("ok") : message_; }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::ok;
  std::string message_;
};

// Result<T>: a value or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}   // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace udisc
