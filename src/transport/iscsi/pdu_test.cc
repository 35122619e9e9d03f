#include "transport/iscsi/pdu.h"

#include <gtest/gtest.h>

#include "transport/iscsi/crc32c.h"
#include "transport/iscsi/negotiation.h"
#include "transport/iscsi/text.h"

namespace udisc::iscsi {
namespace {

TEST(Crc32c, KnownVectors) {
  const uint8_t digits[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  EXPECT_EQ(crc32c(digits, 9), 0xE3069283u);
  // RFC 3720 B.4: 32 bytes of zeros.
  uint8_t zeros[32] = {};
  EXPECT_EQ(crc32c(zeros, 32), 0x8A9136AAu);
  uint8_t ones[32];
  std::fill(std::begin(ones), std::end(ones), 0xff);
  EXPECT_EQ(crc32c(ones, 32), 0x62A8AB43u);
}

Pdu sample(uint32_t data_len, uint8_t ahs_words = 0) {
  Pdu p;
  init_bhs(p.bhs, Opcode::scsi_command, 0x81, data_len, 0x1234);
  p.bhs[4] = ahs_words;
  p.ahs.assign(ahs_words * 4u, 0x5a);
  for (uint32_t i = 0; i < data_len; ++i) p.data.push_back(static_cast<uint8_t>(i * 3));
  return p;
}

TEST(PduReader, ByteByByteWithDigestsAndPadding) {
  for (bool hd : {false, true}) {
    for (bool dd : {false, true}) {
      for (uint32_t len : {0u, 1u, 3u, 4u, 5u, 1000u}) {
        Pdu in = sample(len, 2);
        auto bytes = serialize(in, hd, dd);
        PduReader reader({4096, hd, dd});
        size_t pos = 0;
        bool complete = false;
        while (!complete) {
          ASSERT_LT(pos, bytes.size());
          Status err;
          pos += reader.feed(std::span<const uint8_t>(bytes).subspan(pos, 1), complete, err);
          ASSERT_TRUE(err.ok()) << err.message();
        }
        EXPECT_EQ(pos, bytes.size());
        Pdu out = reader.take();
        EXPECT_EQ(out.bhs, in.bhs);
        EXPECT_EQ(out.ahs, in.ahs);
        EXPECT_EQ(out.data, in.data);
        EXPECT_TRUE(out.data_digest_ok);
        EXPECT_TRUE(reader.idle());
      }
    }
  }
}

TEST(PduReader, SeveralPdusInOneBuffer) {
  std::vector<uint8_t> all;
  for (uint32_t i = 0; i < 5; ++i) {
    auto b = serialize(sample(i * 7), false, false);
    all.insert(all.end(), b.begin(), b.end());
  }
  PduReader reader({4096, false, false});
  std::span<const uint8_t> rest(all);
  int count = 0;
  while (!rest.empty()) {
    bool complete = false;
    Status err;
    rest = rest.subspan(reader.feed(rest, complete, err));
    ASSERT_TRUE(err.ok());
    if (complete) {
      EXPECT_EQ(reader.take().data.size(), count * 7u);
      ++count;
    }
  }
  EXPECT_EQ(count, 5);
}

TEST(PduReader, RejectsOversizedSegmentBeforeAllocating) {
  Pdu p = sample(0);
  put_be24(&p.bhs[5], 8193);
  PduReader reader({8192, false, false});
  bool complete = false;
  Status err;
  reader.feed(p.bhs, complete, err);
  EXPECT_FALSE(err.ok());
  EXPECT_NE(err.message().find("8193"), std::string::npos);
}

TEST(PduReader, HeaderDigestMismatchIsFatalDataDigestIsNot) {
  auto bytes = serialize(sample(10), true, true);
  auto bad_header = bytes;
  bad_header[10] ^= 1;
  PduReader r1({4096, true, true});
  bool complete = false;
  Status err;
  r1.feed(bad_header, complete, err);
  EXPECT_FALSE(err.ok());
  auto bad_data = bytes;
  bad_data[52] ^= 1;
  PduReader r2({4096, true, true});
  err = Status::Ok();
  r2.feed(bad_data, complete, err);
  EXPECT_TRUE(err.ok());
  ASSERT_TRUE(complete);
  EXPECT_FALSE(r2.take().data_digest_ok);
}

TEST(Lun, EncodeDecode) {
  for (uint32_t lun : {0u, 1u, 255u, 256u, 16383u}) {
    uint8_t b[8];
    encode_lun(b, lun);
    uint32_t back = 0;
    ASSERT_TRUE(decode_lun(b, back));
    EXPECT_EQ(back, lun);
  }
  uint8_t bad[8] = {0x80, 0, 0, 0, 0, 0, 0, 0};
  uint32_t v;
  EXPECT_FALSE(decode_lun(bad, v));
}

TEST(Text, ParseAndRender) {
  auto kv = parse_text(render_text({{"A", "1"}, {"Bee", "x=y"}}));
  ASSERT_TRUE(kv.ok());
  ASSERT_EQ(kv->size(), 2u);
  EXPECT_EQ((*kv)[1].second, "x=y");
  const uint8_t no_eq[] = {'A', 'B', 0};
  EXPECT_FALSE(parse_text(no_eq).ok());
  const uint8_t no_nul[] = {'A', '=', 'B'};
  EXPECT_TRUE(parse_text(no_nul).ok());
  std::string long_key(64, 'k');
  EXPECT_FALSE(parse_text(render_text({{long_key, "1"}})).ok());
}

TEST(Text, NumbersAndBinary) {
  uint64_t n;
  EXPECT_TRUE(parse_number("8192", n));
  EXPECT_EQ(n, 8192u);
  EXPECT_TRUE(parse_number("0x2000", n));
  EXPECT_EQ(n, 8192u);
  EXPECT_FALSE(parse_number("12a", n));
  EXPECT_FALSE(parse_number("", n));
  EXPECT_FALSE(parse_number("99999999999999999999", n));
  std::vector<uint8_t> b;
  EXPECT_TRUE(decode_binary("0x0aff", b));
  EXPECT_EQ(b, (std::vector<uint8_t>{0x0a, 0xff}));
  EXPECT_TRUE(decode_binary("0bAQID", b));
  EXPECT_EQ(b, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_FALSE(decode_binary("0xzz", b));
  EXPECT_EQ(encode_hex(std::vector<uint8_t>{0xde, 0xad}), "0xdead");
}

TEST(Negotiation, ResultFunctions) {
  TargetLimits limits;
  struct Row {
    const char* key;
    const char* offer;
    const char* answer;
  };
  const Row rows[] = {
      {"HeaderDigest", "CRC32C,None", "CRC32C"},
      {"HeaderDigest", "None,CRC32C", "None"},
      {"HeaderDigest", "MD5", "Reject"},
      {"MaxBurstLength", "4096", "4096"},
      {"MaxBurstLength", "99999999", "Reject"},
      {"MaxBurstLength", "100", "Reject"},
      {"FirstBurstLength", "65536", "65536"},
      {"ImmediateData", "Yes", "Yes"},
      {"ImmediateData", "No", "No"},
      {"ImmediateData", "Maybe", "Reject"},
      {"InitialR2T", "No", "Yes"},
      {"DataPDUInOrder", "No", "Yes"},
      {"DataSequenceInOrder", "No", "Yes"},
      {"MaxOutstandingR2T", "16", "1"},
      {"DefaultTime2Wait", "0", "2"},
      {"DefaultTime2Wait", "10", "10"},
      {"DefaultTime2Retain", "0", "0"},
      {"DefaultTime2Retain", "3600", "20"},
      {"ErrorRecoveryLevel", "1", "0"},
      {"MaxConnections", "8", "1"},
      {"MaxRecvDataSegmentLength", "4096", "262144"},
      {"OFMarker", "Yes", "No"},
      {"OFMarkInt", "1-65535", "Irrelevant"},
      {"X-foo", "bar", "NotUnderstood"},
      {"TaskReporting", "RFC3720", "RFC3720"},
  };
  for (const auto& row : rows) {
    SessionParams p;
    auto got = negotiate_operational(row.key, row.offer, p, limits);
    ASSERT_TRUE(got.has_value()) << row.key;
    EXPECT_EQ(*got, row.answer) << row.key << "=" << row.offer;
  }
  SessionParams p;
  negotiate_operational("MaxRecvDataSegmentLength", "4096", p, limits);
  EXPECT_EQ(p.initiator_mrdsl, 4096u);
  EXPECT_FALSE(negotiate_operational("MaxBurstLength", "NotUnderstood", p, limits).has_value());
}

TEST(Chap, ResponseVectors) {
  // RFC 1994: MD5(id || secret || challenge); checked against OpenSSL-independent values.
  const std::vector<uint8_t> challenge = {0x01, 0x02, 0x03};
  auto r = chap_response(ChapAlgorithm::md5, 1, "secret", challenge);
  EXPECT_EQ(r.size(), 16u);
  EXPECT_EQ(chap_response(ChapAlgorithm::sha256, 1, "secret", challenge).size(), 32u);
  EXPECT_NE(r, chap_response(ChapAlgorithm::md5, 2, "secret", challenge));
  ChapServer server;
  server.set_fixed_challenge(9, {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20});
  auto keys = server.challenge("6,5");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ((*keys)[0].second, "6");
  EXPECT_FALSE(ChapServer().challenge("1,2,3").ok());
  const ChapCredentials who{"u", "pw"};
  auto good = chap_response(ChapAlgorithm::sha1, 9, "pw", {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20});
  EXPECT_FALSE(server.verify(std::string("v"), encode_hex(good), std::nullopt, std::nullopt, who, std::nullopt).ok());
  EXPECT_TRUE(server.verify(std::string("u"), encode_hex(good), std::nullopt, std::nullopt, who, std::nullopt).ok());
  EXPECT_FALSE(server.verify(std::string("u"), encode_hex(good), std::nullopt, std::nullopt, who, std::nullopt).ok())
      << "one response per challenge";
}

}  // namespace
}  // namespace udisc::iscsi
