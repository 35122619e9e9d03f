// open_flac with libFLAC: the FLAC half of audio_source.h (on Windows, libFLAC
// is compiled from Debian's source package: cmake/windows-codecs.cmake).
#include <FLAC/stream_decoder.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <vector>

#include "formats/audio_checks.h"
#include "formats/audio_source.h"

namespace udisc::formats {
namespace {

// ---- FLAC -------------------------------------------------------------------

// One libFLAC stream decoder reading through a RandomAccessFile, with the
// samples of the last decoded block kept for sequential reads.
class FlacDecoder {
 public:
  explicit FlacDecoder(std::shared_ptr<RandomAccessFile> file) : file_(std::move(file)) {}
  ~FlacDecoder() {
    if (dec_ != nullptr) {
      FLAC__stream_decoder_finish(dec_);
      FLAC__stream_decoder_delete(dec_);
    }
  }
  FlacDecoder(const FlacDecoder&) = delete;
  FlacDecoder& operator=(const FlacDecoder&) = delete;

  // Creates the decoder and reads the metadata blocks.
  Status init() {
    dec_ = FLAC__stream_decoder_new();
    if (dec_ == nullptr) return Status::IoError(quoted(file_->name()) + ": cannot create a FLAC decoder");
    FLAC__stream_decoder_set_md5_checking(dec_, false);
    auto st = FLAC__stream_decoder_init_stream(dec_, &read_cb, &seek_cb, &tell_cb, &length_cb, &eof_cb, &write_cb,
                                               &metadata_cb, &error_cb, this);
    if (st != FLAC__STREAM_DECODER_INIT_STATUS_OK) {
      return Status::IoError(quoted(file_->name()) + ": FLAC decoder: " + FLAC__StreamDecoderInitStatusString[st]);
    }
    if (!FLAC__stream_decoder_process_until_end_of_metadata(dec_) || !have_info_) {
      return Status::Corruption(quoted(file_->name()) + ": not a readable FLAC stream (" + state_string() + ")");
    }
    return Status::Ok();
  }

  uint64_t total_samples() const { return total_samples_; }
  unsigned channels() const { return channels_; }
  unsigned bits() const { return bits_; }
  unsigned rate() const { return rate_; }
  // Sample frame the decoder would deliver next without seeking.
  uint64_t next_frame() const { return buf_start_ + buf_frames(); }

  Status read(uint64_t frame, std::span<uint8_t> out) {
    const uint64_t n = out.size() / kBytesPerSampleFrame;
    uint64_t done = 0;
    int stalls = 0;
    while (done < n) {
      const uint64_t cur = frame + done;
      if (cur >= buf_start_ && cur < buf_start_ + buf_frames()) {
        const uint64_t avail = std::min<uint64_t>(buf_start_ + buf_frames() - cur, n - done);
        std::memcpy(out.data() + done * kBytesPerSampleFrame, buf_.data() + (cur - buf_start_) * kBytesPerSampleFrame,
                    avail * kBytesPerSampleFrame);
        done += avail;
        stalls = 0;
        continue;
      }
      write_error_.clear();
      const bool sequential = cur == next_frame() && positioned_;
      buf_.clear();
      buf_start_ = cur;
      bool ok;
      if (sequential) {
        ok = FLAC__stream_decoder_process_single(dec_);
      } else {
        ok = FLAC__stream_decoder_seek_absolute(dec_, cur);
        positioned_ = ok;
      }
      if (!write_error_.empty()) {
        reset_after_error();
        return Status::Corruption(quoted(file_->name()) + ": " + write_error_);
      }
      if (!ok || (buf_frames() == 0 && ++stalls > 4)) {
        const std::string state = state_string();
        reset_after_error();
        return Status::Corruption(quoted(file_->name()) + ": FLAC decoding failed at sample " + std::to_string(cur) +
                                  " of " + std::to_string(total_samples_) + " (" + state + ")");
      }
      if (buf_frames() > 0 && buf_start_ > cur) {
        reset_after_error();
        return Status::Corruption(quoted(file_->name()) + ": FLAC stream skips from sample " + std::to_string(cur) +
                                  " to " + std::to_string(buf_start_));
      }
    }
    return Status::Ok();
  }

 private:
  uint64_t buf_frames() const { return buf_.size() / kBytesPerSampleFrame; }

  std::string state_string() const {
    return dec_ == nullptr ? "no decoder" : FLAC__StreamDecoderStateString[FLAC__stream_decoder_get_state(dec_)];
  }

  void reset_after_error() {
    buf_.clear();
    positioned_ = false;
    if (FLAC__stream_decoder_get_state(dec_) == FLAC__STREAM_DECODER_SEEK_ERROR ||
        FLAC__stream_decoder_get_state(dec_) == FLAC__STREAM_DECODER_ABORTED) {
      FLAC__stream_decoder_flush(dec_);
    }
  }

  static FLAC__StreamDecoderReadStatus read_cb(const FLAC__StreamDecoder*, FLAC__byte buffer[], size_t* bytes,
                                               void* client) {
    auto* self = static_cast<FlacDecoder*>(client);
    const uint64_t size = self->file_->size();
    if (self->pos_ >= size) {
      *bytes = 0;
      return FLAC__STREAM_DECODER_READ_STATUS_END_OF_STREAM;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(*bytes, size - self->pos_));
    if (n == 0) {
      *bytes = 0;
      return FLAC__STREAM_DECODER_READ_STATUS_ABORT;
    }
    if (!self->file_->read_at(self->pos_, std::span<uint8_t>(buffer, n)).ok()) {
      *bytes = 0;
      return FLAC__STREAM_DECODER_READ_STATUS_ABORT;
    }
    self->pos_ += n;
    *bytes = n;
    return FLAC__STREAM_DECODER_READ_STATUS_CONTINUE;
  }
  static FLAC__StreamDecoderSeekStatus seek_cb(const FLAC__StreamDecoder*, FLAC__uint64 offset, void* client) {
    auto* self = static_cast<FlacDecoder*>(client);
    if (offset > self->file_->size()) return FLAC__STREAM_DECODER_SEEK_STATUS_ERROR;
    self->pos_ = offset;
    return FLAC__STREAM_DECODER_SEEK_STATUS_OK;
  }
  static FLAC__StreamDecoderTellStatus tell_cb(const FLAC__StreamDecoder*, FLAC__uint64* offset, void* client) {
    *offset = static_cast<FlacDecoder*>(client)->pos_;
    return FLAC__STREAM_DECODER_TELL_STATUS_OK;
  }
  static FLAC__StreamDecoderLengthStatus length_cb(const FLAC__StreamDecoder*, FLAC__uint64* length, void* client) {
    *length = static_cast<FlacDecoder*>(client)->file_->size();
    return FLAC__STREAM_DECODER_LENGTH_STATUS_OK;
  }
  static FLAC__bool eof_cb(const FLAC__StreamDecoder*, void* client) {
    auto* self = static_cast<FlacDecoder*>(client);
    return self->pos_ >= self->file_->size();
  }
  static FLAC__StreamDecoderWriteStatus write_cb(const FLAC__StreamDecoder*, const FLAC__Frame* frame,
                                                 const FLAC__int32* const buffer[], void* client) {
    auto* self = static_cast<FlacDecoder*>(client);
    const FLAC__FrameHeader& h = frame->header;
    if (h.channels != 2 || h.bits_per_sample != 16) {
      self->write_error_ = "FLAC frame with " + std::to_string(h.channels) + " channels of " +
                           std::to_string(h.bits_per_sample) + " bits (expected 2 of 16)";
      return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
    }
    uint64_t first = h.number_type == FLAC__FRAME_NUMBER_TYPE_SAMPLE_NUMBER ? h.number.sample_number
                                                                            : self->next_frame();
    if (self->buf_.empty() || first != self->next_frame()) {
      self->buf_.clear();
      self->buf_start_ = first;
    }
    const size_t old = self->buf_.size();
    self->buf_.resize(old + static_cast<size_t>(h.blocksize) * kBytesPerSampleFrame);
    uint8_t* p = self->buf_.data() + old;
    for (unsigned i = 0; i < h.blocksize; ++i) {
      for (int ch = 0; ch < 2; ++ch) {
        const auto v = static_cast<uint16_t>(static_cast<int16_t>(buffer[ch][i]));
        *p++ = static_cast<uint8_t>(v & 0xFF);
        *p++ = static_cast<uint8_t>(v >> 8);
      }
    }
    return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
  }
  static void metadata_cb(const FLAC__StreamDecoder*, const FLAC__StreamMetadata* m, void* client) {
    auto* self = static_cast<FlacDecoder*>(client);
    if (m->type != FLAC__METADATA_TYPE_STREAMINFO) return;
    self->have_info_ = true;
    self->total_samples_ = m->data.stream_info.total_samples;
    self->channels_ = m->data.stream_info.channels;
    self->bits_ = m->data.stream_info.bits_per_sample;
    self->rate_ = m->data.stream_info.sample_rate;
  }
  static void error_cb(const FLAC__StreamDecoder*, FLAC__StreamDecoderErrorStatus, void*) {
    // Lost sync / bad CRC: libFLAC skips to the next frame; a gap is detected in read().
  }

  std::shared_ptr<RandomAccessFile> file_;
  FLAC__StreamDecoder* dec_ = nullptr;
  uint64_t pos_ = 0;  // byte position of the read callback
  bool have_info_ = false;
  uint64_t total_samples_ = 0;
  unsigned channels_ = 0, bits_ = 0, rate_ = 0;
  std::vector<uint8_t> buf_;  // decoded PCM starting at sample frame buf_start_
  uint64_t buf_start_ = 0;
  bool positioned_ = false;   // the decoder's stream position follows buf_
  std::string write_error_;
};

// A small pool of decoders: concurrent readers at different places each get
// their own, sequential readers find the decoder already positioned.
class FlacSource final : public AudioSource {
 public:
  static constexpr size_t kMaxDecoders = 4;

  FlacSource(std::shared_ptr<RandomAccessFile> file, std::unique_ptr<FlacDecoder> first, uint64_t frames)
      : file_(std::move(file)), frames_(frames) {
    idle_.push_back(std::move(first));
    created_ = 1;
  }
  uint64_t frames() const override { return frames_; }
  const std::string& name() const override { return file_->name(); }

  Status read_pcm(uint64_t frame, std::span<uint8_t> out) const override {
    Status s = check_read(name(), frames_, frame, out.size());
    if (!s.ok() || out.empty()) return s;
    auto dec = checkout(frame);
    if (!dec.ok()) return dec.status();
    std::unique_ptr<FlacDecoder> d = std::move(dec).value();
    s = d->read(frame, out);
    checkin(std::move(d));
    return s;
  }

 private:
  Result<std::unique_ptr<FlacDecoder>> checkout(uint64_t frame) const {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (!idle_.empty()) {
        auto it = std::find_if(idle_.begin(), idle_.end(), [&](const auto& d) { return d->next_frame() == frame; });
        if (it == idle_.end()) it = idle_.begin();
        std::unique_ptr<FlacDecoder> d = std::move(*it);
        idle_.erase(it);
        return d;
      }
      if (created_ < kMaxDecoders) {
        ++created_;
        lock.unlock();
        auto d = std::make_unique<FlacDecoder>(file_);
        Status s = d->init();
        if (!s.ok()) {
          std::lock_guard<std::mutex> relock(mu_);
          --created_;
          cv_.notify_one();
          return s;
        }
        return d;
      }
      cv_.wait(lock);
    }
  }
  void checkin(std::unique_ptr<FlacDecoder> d) const {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(d));
    cv_.notify_one();
  }

  std::shared_ptr<RandomAccessFile> file_;
  uint64_t frames_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable std::vector<std::unique_ptr<FlacDecoder>> idle_;
  mutable size_t created_ = 0;
};

}  // namespace

Result<std::unique_ptr<AudioSource>> open_flac(std::shared_ptr<RandomAccessFile> file) {
  auto dec = std::make_unique<FlacDecoder>(file);
  Status s = dec->init();
  if (!s.ok()) return s;
  s = require_cd_format(file->name(), "FLAC", dec->channels(), dec->bits(), dec->rate());
  if (!s.ok()) return s;
  if (dec->total_samples() == 0) {
    return Status::NotSupported(quoted(file->name()) + ": FLAC STREAMINFO has no total sample count");
  }
  const uint64_t frames = dec->total_samples();
  return std::unique_ptr<AudioSource>(std::make_unique<FlacSource>(std::move(file), std::move(dec), frames));
}

}  // namespace udisc::formats
