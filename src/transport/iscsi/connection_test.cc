#include "transport/iscsi/connection.h"

#include <gtest/gtest.h>

#include "transport/iscsi/test_support.h"

namespace udisc::iscsi {
namespace {

using testing::FakeUnit;
using testing::Initiator;
using testing::text_value;
using Clock = std::chrono::steady_clock;

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unit = std::make_shared<FakeUnit>();
    config.name = "iqn.2025-01.org.udisc:test";
    config.luns = {unit, std::make_shared<FakeUnit>(8), std::make_shared<FakeUnit>(8)};
    config.nop_interval_ms = 1000;
    config.nop_timeout_ms = 2000;
  }
  void make() {
    Connection::Context ctx;
    ctx.target = &config;
    ctx.peer = "192.0.2.1:50000";
    ctx.portal = "192.0.2.10:3260";
    ctx.log = [this](LogLevel, const std::string& m) { logs.push_back(m); };
    conn = std::make_unique<Connection>(ctx, Clock::now());
    ini = std::make_unique<Initiator>(*conn);
  }
  void login_ok(const KeyValues& extra = {}) {
    make();
    auto r = ini->login(extra);
    ASSERT_EQ(r.size(), 1u);
    ASSERT_EQ(r[0].opcode(), Opcode::login_response);
    ASSERT_EQ(r[0].bhs[36], 0) << "status class";
    ASSERT_TRUE(conn->in_full_feature());
  }
  // A one-way CHAP (MD5) login with `secret` on the connection made last;
  // returns the answer to CHAP_R.
  std::vector<Pdu> chap_md5_login(const std::string& secret) {
    Pdu p = Initiator::make(Opcode::login_request, 0x80 | 1, 7, true);
    Initiator::set_text(p, {{"InitiatorName", "iqn.x:init"}, {"TargetName", config.name}, {"AuthMethod", "CHAP"}});
    ini->send(p);
    ini->drain();
    Initiator::set_text(p, {{"CHAP_A", "5"}});
    ini->send(p);
    auto r = ini->drain();
    if (r.size() != 1) return r;
    uint64_t id = 0;
    parse_number(text_value(r[0], "CHAP_I"), id);
    std::vector<uint8_t> challenge;
    decode_binary(text_value(r[0], "CHAP_C"), challenge);
    Initiator::set_text(p, {{"CHAP_N", "alice"},
                            {"CHAP_R", encode_hex(chap_response(ChapAlgorithm::md5, static_cast<uint8_t>(id), secret, challenge))}});
    ini->send(p);
    return ini->drain();
  }
  std::shared_ptr<FakeUnit> unit;
  TargetConfig config;
  std::unique_ptr<Connection> conn;
  std::unique_ptr<Initiator> ini;
  std::vector<std::string> logs;
};

TEST_F(ConnectionTest, LoginNegotiatesEveryKey) {
  make();
  auto r = ini->login({{"MaxBurstLength", "65536"},
                       {"FirstBurstLength", "1048576"},
                       {"ImmediateData", "No"},
                       {"InitialR2T", "No"},
                       {"MaxOutstandingR2T", "8"},
                       {"DataPDUInOrder", "Yes"},
                       {"DataSequenceInOrder", "Yes"},
                       {"DefaultTime2Wait", "5"},
                       {"DefaultTime2Retain", "60"},
                       {"ErrorRecoveryLevel", "2"},
                       {"MaxConnections", "4"},
                       {"X-com.example.Foo", "1"},
                       {"IFMarker", "Yes"}});
  ASSERT_EQ(r.size(), 1u);
  const Pdu& p = r[0];
  EXPECT_EQ(p.bhs[36], 0);
  EXPECT_EQ(p.flags(), 0x80 | 1 << 2 | 3);  // T, CSG=1, NSG=3
  EXPECT_NE(get_be16(&p.bhs[14]), 0) << "TSIH assigned";
  EXPECT_EQ(text_value(p, "HeaderDigest"), "None");
  EXPECT_EQ(text_value(p, "MaxRecvDataSegmentLength"), "262144");
  EXPECT_EQ(text_value(p, "MaxBurstLength"), "65536");           // min
  EXPECT_EQ(text_value(p, "FirstBurstLength"), "262144");        // min
  EXPECT_EQ(text_value(p, "ImmediateData"), "No");               // AND
  EXPECT_EQ(text_value(p, "InitialR2T"), "Yes");                 // OR
  EXPECT_EQ(text_value(p, "MaxOutstandingR2T"), "1");
  EXPECT_EQ(text_value(p, "DefaultTime2Wait"), "5");             // max
  EXPECT_EQ(text_value(p, "DefaultTime2Retain"), "20");          // min
  EXPECT_EQ(text_value(p, "ErrorRecoveryLevel"), "0");
  EXPECT_EQ(text_value(p, "MaxConnections"), "1");
  EXPECT_EQ(text_value(p, "X-com.example.Foo"), "NotUnderstood");
  EXPECT_EQ(text_value(p, "IFMarker"), "No");
  EXPECT_EQ(text_value(p, "TargetPortalGroupTag"), "1");
  EXPECT_TRUE(conn->in_full_feature());
  EXPECT_EQ(conn->params().max_burst_length, 65536u);
  EXPECT_EQ(conn->params().initiator_mrdsl, 8192u);
  EXPECT_FALSE(conn->params().immediate_data);
}

TEST_F(ConnectionTest, LoginFailures) {
  make();
  auto r = ini->login({}, "iqn.2025-01.org.udisc:other");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bhs[36], 2);
  EXPECT_EQ(r[0].bhs[37], 3);  // not found
  EXPECT_TRUE(conn->closing());

  config.allowed_initiators = {"iqn.2025-01.org.example:someone-else"};
  make();
  r = ini->login();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bhs[37], 2);  // authorization failure

  config.allowed_initiators = {"iqn.2025-01.org.example:init"};
  make();
  r = ini->login();
  EXPECT_EQ(r[0].bhs[36], 0);

  // Version-min above 0.
  make();
  Pdu p = Initiator::make(Opcode::login_request, 0x80 | 1 << 2 | 3, 1, true);
  p.bhs[3] = 1;
  Initiator::set_text(p, {{"InitiatorName", "iqn.x"}});
  ini->send(p);
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bhs[37], 5);

  // A non-login PDU before login: the connection closes.
  make();
  ini->send(ini->command(1, {0, 0, 0, 0, 0, 0}, 0, false));
  EXPECT_TRUE(conn->must_close());
}

// RFC 7143 13.12: before login, 8192 bytes is the most a PDU may carry,
// whatever MaxRecvDataSegmentLength the target will declare later.
TEST_F(ConnectionTest, LoginSegmentsAreLimitedToTheDefault8192) {
  ASSERT_GT(config.limits.max_recv_data_segment_length, 8192u);
  make();
  std::array<uint8_t, kBhsSize> header{};
  init_bhs(header, Opcode::login_request, 0x80 | 1 << 2 | 3, 8196, 1);
  header[0] |= kImmediateBit;
  conn->receive(header, Clock::now());
  EXPECT_TRUE(conn->must_close()) << "a header announcing 8196 bytes closes the connection at once";
  ASSERT_FALSE(logs.empty());
  EXPECT_NE(logs.back().find("DataSegmentLength 8196 exceeds MaxRecvDataSegmentLength 8192"), std::string::npos)
      << logs.back();
  // 8192 bytes of login text are fine.
  make();
  Pdu p = Initiator::make(Opcode::login_request, 0x80 | 1 << 2 | 3, 1, true);
  const KeyValues keys = {{"InitiatorName", "iqn.2025-01.org.example:init"}, {"SessionType", "Discovery"}};
  Initiator::set_text(p, keys);
  KeyValues padded = keys;
  padded.emplace_back("X-com.example.Pad", std::string(8192 - p.data.size() - std::string("X-com.example.Pad=").size() - 1, 'x'));
  Initiator::set_text(p, padded);
  ASSERT_EQ(p.data.size(), 8192u);
  ini->send(p);
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bhs[36], 0) << "status class";
  EXPECT_FALSE(conn->must_close());
}

TEST_F(ConnectionTest, WrongChapResponsesAreReportedForThrottling) {
  config.chap = ChapCredentials{"alice", "secret-of-alice"};
  int failures = 0;
  Connection::Context ctx;
  ctx.target = &config;
  ctx.peer = "192.0.2.1:50000";
  ctx.log = [this](LogLevel, const std::string& m) { logs.push_back(m); };
  ctx.auth_failed = [&failures] {
    ++failures;
    return false;  // rate limiter says: do not log
  };
  conn = std::make_unique<Connection>(ctx, Clock::now());
  ini = std::make_unique<Initiator>(*conn);
  auto r = chap_md5_login("not-the-secret");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bhs[36], 2);
  EXPECT_EQ(r[0].bhs[37], 1) << "authentication failure";
  EXPECT_EQ(failures, 1);
  for (const auto& line : logs) EXPECT_EQ(line.find("CHAP authentication failed"), std::string::npos) << line;
}

TEST_F(ConnectionTest, ChapMd5AndMutual) {
  config.chap = ChapCredentials{"alice", "secret-of-alice"};
  config.mutual_chap = ChapCredentials{"target", "secret-of-target"};
  make();
  auto stage0 = [&](const KeyValues& kv, uint8_t flags) {
    Pdu p = Initiator::make(Opcode::login_request, flags, 7, true);
    std::memcpy(&p.bhs[8], "\x80\x01\x02\x03\x04\x05", 6);
    Initiator::set_text(p, kv);
    ini->send(p);
    auto r = ini->drain();
    EXPECT_EQ(r.size(), 1u);
    return r.empty() ? Pdu{} : r[0];
  };
  Pdu r = stage0({{"InitiatorName", "iqn.x:init"}, {"TargetName", config.name}, {"AuthMethod", "None,CHAP"}}, 0x80 | 0 | 1);
  EXPECT_EQ(text_value(r, "AuthMethod"), "CHAP");
  EXPECT_EQ(r.flags() & 0x80, 0) << "no transit before authentication";
  r = stage0({{"CHAP_A", "7,5"}}, 0x80 | 1);
  EXPECT_EQ(text_value(r, "CHAP_A"), "7");
  uint64_t id = 0;
  ASSERT_TRUE(parse_number(text_value(r, "CHAP_I"), id));
  std::vector<uint8_t> challenge;
  ASSERT_TRUE(decode_binary(text_value(r, "CHAP_C"), challenge));
  EXPECT_EQ(challenge.size(), 32u);
  const auto resp = chap_response(ChapAlgorithm::sha256, static_cast<uint8_t>(id), "secret-of-alice", challenge);
  const std::vector<uint8_t> my_challenge = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  r = stage0({{"CHAP_N", "alice"}, {"CHAP_R", encode_hex(resp)}, {"CHAP_I", "77"}, {"CHAP_C", encode_hex(my_challenge)}},
             0x80 | 1);
  EXPECT_EQ(r.bhs[36], 0);
  EXPECT_EQ(r.flags(), 0x80 | 1) << "transit to operational";
  EXPECT_EQ(text_value(r, "CHAP_N"), "target");
  EXPECT_EQ(text_value(r, "CHAP_R"), encode_hex(chap_response(ChapAlgorithm::sha256, 77, "secret-of-target", my_challenge)));
  for (const auto& line : logs) {
    EXPECT_EQ(line.find("secret"), std::string::npos) << line;
  }
}

TEST_F(ConnectionTest, ChapWrongSecretFailsAndIsLoggedWithoutSecret) {
  config.chap = ChapCredentials{"alice", "right-secret"};
  make();
  auto r = chap_md5_login("wrong-secret");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bhs[36], 2);
  EXPECT_EQ(r[0].bhs[37], 1);
  EXPECT_TRUE(conn->closing());
  bool logged = false;
  for (const auto& line : logs) {
    EXPECT_EQ(line.find("right-secret"), std::string::npos);
    EXPECT_EQ(line.find("wrong-secret"), std::string::npos);
    if (line.find("192.0.2.1") != std::string::npos && line.find("CHAP") != std::string::npos) logged = true;
  }
  EXPECT_TRUE(logged);

  // Skipping security when CHAP is required fails.
  make();
  ini->login();
  EXPECT_TRUE(conn->closing());
}

TEST_F(ConnectionTest, ReadSplitsIntoDataInSequencesWithStatusFolded) {
  login_ok({{"MaxBurstLength", "8192"}});
  // Initiator declared MRDSL 8192 -> let's lower it through the login keys.
  ini->send(ini->command(0x10, Initiator::read10(3, 5), 5 * 2048, true));
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 2u);  // 10240 bytes: 8192 + 2048
  uint32_t offset = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].opcode(), Opcode::data_in);
    EXPECT_EQ(r[i].itt(), 0x10u);
    EXPECT_EQ(r[i].u32(36), i) << "DataSN";
    EXPECT_EQ(r[i].u32(40), offset) << "BufferOffset";
    EXPECT_TRUE(r[i].final()) << "each burst ends with F";
    for (size_t k = 0; k < r[i].data.size(); ++k) {
      const uint32_t pos = offset + static_cast<uint32_t>(k);
      ASSERT_EQ(r[i].data[k], FakeUnit::byte_at(3 + pos / 2048, pos % 2048)) << pos;
    }
    offset += static_cast<uint32_t>(r[i].data.size());
  }
  EXPECT_EQ(offset, 5u * 2048);
  EXPECT_EQ(r[0].flags() & 0x01, 0);
  EXPECT_EQ(r[1].flags() & 0x01, 0x01) << "S bit on the last Data-In";
  EXPECT_EQ(r[1].bhs[3], 0);
  EXPECT_EQ(unit->last_direction, device::DataDirection::from_device);
}

TEST_F(ConnectionTest, DataInHonoursMaxRecvDataSegmentLength) {
  make();
  auto lr = ini->login({{"MaxBurstLength", "16384"}});
  // override MRDSL via a second key list is not possible; use a fresh login with 4096
  make();
  Pdu p = Initiator::make(Opcode::login_request, 0x80 | 1 << 2 | 3, 1, true);
  Initiator::set_text(p, {{"InitiatorName", "iqn.x:i"}, {"TargetName", config.name}, {"MaxRecvDataSegmentLength", "4096"}, {"MaxBurstLength", "16384"}});
  ini->send(p);
  ASSERT_EQ(ini->drain().size(), 1u);
  ini->cmdsn = 0;
  ini->send(ini->command(2, Initiator::read10(0, 16), 16 * 2048, true));
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 8u);
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].data.size(), 4096u);
    EXPECT_EQ(r[i].final(), (i % 4) == 3) << "F at each 16 KiB burst end, PDU " << i;
  }
}

TEST_F(ConnectionTest, CheckConditionSendsSenseInScsiResponse) {
  login_ok();
  unit->fail_lba = 4;
  ini->send(ini->command(5, Initiator::read10(2, 4), 4 * 2048, true));
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode(), Opcode::scsi_response);
  EXPECT_EQ(r[0].bhs[3], 0x02);
  ASSERT_EQ(r[0].data.size(), 20u);
  EXPECT_EQ(get_be16(&r[0].data[0]), 18);
  EXPECT_EQ(r[0].data[2 + 2], 0x03);   // MEDIUM ERROR
  EXPECT_EQ(r[0].data[2 + 12], 0x11);  // UNRECOVERED READ ERROR
}

TEST_F(ConnectionTest, ResidualUnderflowAndOverflow) {
  login_ok();
  ini->send(ini->command(1, Initiator::read10(0, 1), 10000, true));
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].data.size(), 2048u);
  EXPECT_EQ(r[0].flags() & 0x07, 0x01 | 0x02) << "S + U";
  EXPECT_EQ(r[0].u32(44), 10000u - 2048);

  ini->send(ini->command(2, Initiator::read10(0, 1), 200, true));
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].data.size(), 200u);
  EXPECT_EQ(r[0].flags() & 0x07, 0x01 | 0x04) << "S + O";
  EXPECT_EQ(r[0].u32(44), 2048u - 200);

  ini->send(ini->command(3, Initiator::read10(0, 1), 0, false));
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode(), Opcode::scsi_response);
  EXPECT_EQ(r[0].flags() & 0x06, 0x04) << "O";
  EXPECT_EQ(r[0].u32(44), 2048u);
}

TEST_F(ConnectionTest, CmdSnWindow) {
  login_ok();
  const uint32_t exp = ini->cmdsn;
  // Too high (beyond MaxCmdSN) and too low: silently ignored.
  ini->cmdsn = exp + config.queue_depth;
  ini->send(ini->command(1, {0, 0, 0, 0, 0, 0}, 0, false));
  ini->cmdsn = exp - 1;
  ini->send(ini->command(2, {0, 0, 0, 0, 0, 0}, 0, false));
  EXPECT_TRUE(ini->drain().empty());
  // Out of order inside the window: held until the gap is filled.
  ini->cmdsn = exp + 1;
  ini->send(ini->command(4, {0, 0, 0, 0, 0, 0}, 0, false));
  EXPECT_TRUE(ini->drain().empty());
  ini->cmdsn = exp;
  ini->send(ini->command(3, {0, 0, 0, 0, 0, 0}, 0, false));
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].itt(), 3u);
  EXPECT_EQ(r[1].itt(), 4u);
  EXPECT_EQ(r[1].u32(28), exp + 2) << "ExpCmdSN";
  EXPECT_EQ(r[1].u32(32), exp + 2 + config.queue_depth - 1) << "MaxCmdSN: window of queue_depth";
  EXPECT_EQ(r[1].u32(24), r[0].u32(24) + 1) << "StatSN advances";
}

TEST_F(ConnectionTest, NopOutEchoAndTargetPing) {
  login_ok();
  Pdu nop = Initiator::make(Opcode::nop_out, 0x80, 0x55, true);
  put_be32(&nop.bhs[20], kReservedTag);
  Initiator::set_data(nop, {1, 2, 3, 4, 5});
  ini->send(nop);
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode(), Opcode::nop_in);
  EXPECT_EQ(r[0].itt(), 0x55u);
  EXPECT_EQ(r[0].data, (std::vector<uint8_t>{1, 2, 3, 4, 5}));

  // Idle: the target pings; the answer keeps the connection alive.
  const auto t0 = Clock::now();
  conn->tick(t0 + std::chrono::milliseconds(1500));
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode(), Opcode::nop_in);
  EXPECT_EQ(r[0].itt(), kReservedTag);
  const uint32_t ttt = r[0].u32(20);
  EXPECT_NE(ttt, kReservedTag);
  Pdu answer = Initiator::make(Opcode::nop_out, 0x80, kReservedTag, true);
  put_be32(&answer.bhs[20], ttt);
  ini->send(answer, t0 + std::chrono::milliseconds(1600));
  EXPECT_TRUE(ini->drain().empty());
  conn->tick(t0 + std::chrono::milliseconds(2000));
  EXPECT_FALSE(conn->must_close());
  // No answer this time: dead after the timeout.
  conn->tick(t0 + std::chrono::milliseconds(3000));
  ASSERT_EQ(ini->drain().size(), 1u);
  conn->tick(t0 + std::chrono::milliseconds(5500));
  EXPECT_TRUE(conn->must_close());
  ASSERT_FALSE(unit->gone.empty()) << "nexus released";
}

TEST_F(ConnectionTest, WriteSolicitsDataWithR2T) {
  login_ok({{"ImmediateData", "Yes"}, {"MaxBurstLength", "4096"}});
  std::vector<uint8_t> cdb(10, 0);
  cdb[0] = 0x55;
  put_be16(&cdb[7], 6000);
  Pdu cmd = ini->command(9, cdb, 6000, false, true);
  Initiator::set_data(cmd, std::vector<uint8_t>(1000, 0xAA));
  ini->send(cmd);
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].opcode(), Opcode::r2t);
  EXPECT_EQ(r[0].u32(40), 1000u);
  EXPECT_EQ(r[0].u32(44), 4096u);
  const uint32_t ttt = r[0].u32(20);
  auto data_out = [&](uint32_t datasn, uint32_t offset, uint32_t len, bool final, uint8_t fill, uint32_t t,
                      uint32_t itt = 9) {
    Pdu d = Initiator::make(Opcode::data_out, final ? 0x80 : 0, itt);
    put_be32(&d.bhs[20], t);
    put_be32(&d.bhs[36], datasn);
    put_be32(&d.bhs[40], offset);
    Initiator::set_data(d, std::vector<uint8_t>(len, fill));
    ini->send(d);
  };
  data_out(0, 1000, 2048, false, 0xBB, ttt);
  data_out(1, 3048, 2048, true, 0xCC, ttt);
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].opcode(), Opcode::r2t);
  EXPECT_EQ(r[0].u32(36), 1u) << "R2TSN";
  EXPECT_EQ(r[0].u32(40), 5096u);
  EXPECT_EQ(r[0].u32(44), 904u);
  data_out(0, 5096, 904, true, 0xDD, r[0].u32(20));
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode(), Opcode::scsi_response);
  EXPECT_EQ(r[0].bhs[3], 0);
  ASSERT_EQ(unit->last_data_out.size(), 6000u);
  EXPECT_EQ(unit->last_data_out[999], 0xAA);
  EXPECT_EQ(unit->last_data_out[1000], 0xBB);
  EXPECT_EQ(unit->last_data_out[3048], 0xCC);
  EXPECT_EQ(unit->last_data_out[5999], 0xDD);
  EXPECT_EQ(unit->last_direction, device::DataDirection::to_device);

  // A wrong DataSN is a fatal protocol error.
  ini->send(ini->command(10, cdb, 6000, false, true));
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  data_out(5, 0, 512, false, 0, r[0].u32(20), 10);
  EXPECT_TRUE(conn->must_close());
}

TEST_F(ConnectionTest, WriteWithAllImmediateDataGetsCheckCondition) {
  login_ok();
  std::vector<uint8_t> cdb(10, 0);
  cdb[0] = 0x2A;
  put_be16(&cdb[7], 1);
  Pdu cmd = ini->command(9, cdb, 2048, false, true);
  Initiator::set_data(cmd, std::vector<uint8_t>(2048, 1));
  ini->send(cmd);
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode(), Opcode::scsi_response);
  EXPECT_EQ(r[0].bhs[3], 0x02);
  EXPECT_EQ(r[0].data[2 + 2], 0x07);  // DATA PROTECT
}

TEST_F(ConnectionTest, DigestsBothWays) {
  make();
  auto r = ini->login({{"HeaderDigest", "CRC32C,None"}, {"DataDigest", "CRC32C"}});
  // The login keys list HeaderDigest twice (None first from the defaults); use a clean login instead.
  make();
  Pdu p = Initiator::make(Opcode::login_request, 0x80 | 1 << 2 | 3, 1, true);
  Initiator::set_text(p, {{"InitiatorName", "iqn.x:i"}, {"TargetName", config.name}, {"HeaderDigest", "CRC32C,None"}, {"DataDigest", "CRC32C"}});
  ini->send(p);
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(text_value(r[0], "HeaderDigest"), "CRC32C");
  EXPECT_EQ(text_value(r[0], "DataDigest"), "CRC32C");
  ini->header_digest = ini->data_digest = ini->header_digest_in = ini->data_digest_in = true;
  ini->cmdsn = 0;
  ini->send(ini->command(1, Initiator::read10(1, 2), 4096, true));
  r = ini->drain();
  EXPECT_TRUE(ini->error.empty()) << ini->error;
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].data_digest_ok);
  EXPECT_EQ(r[0].data[0], FakeUnit::byte_at(1, 0));

  // Corrupt a data digest: Reject, connection stays.
  Pdu nop = Initiator::make(Opcode::nop_out, 0x80, 0x77, true);
  put_be32(&nop.bhs[20], kReservedTag);
  Initiator::set_data(nop, {1, 2, 3});
  auto bytes = serialize(nop, true, true);
  bytes.back() ^= 1;
  ini->send_raw(bytes);
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode(), Opcode::reject);
  EXPECT_EQ(r[0].bhs[2], 0x02);
  EXPECT_FALSE(conn->must_close());
  // Corrupt a header digest: fatal.
  bytes = serialize(nop, true, true);
  bytes[48] ^= 1;
  ini->send_raw(bytes);
  EXPECT_TRUE(conn->must_close());
}

TEST_F(ConnectionTest, RejectsUnknownOpcodeAndSnack) {
  login_ok();
  Pdu p = Initiator::make(static_cast<Opcode>(0x1c), 0x80, 5, true);
  ini->send(p);
  Pdu s = Initiator::make(Opcode::snack_request, 0x80, 6, true);
  ini->send(s);
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].opcode(), Opcode::reject);
  EXPECT_EQ(r[0].bhs[2], 0x05);
  EXPECT_EQ(get_be32(&r[0].data[16]), 5u) << "offending BHS returned";
  EXPECT_EQ(r[1].bhs[2], 0x04);
  EXPECT_FALSE(conn->must_close());
}

TEST_F(ConnectionTest, OversizedSegmentIsFatal) {
  login_ok();
  Pdu p = Initiator::make(Opcode::nop_out, 0x80, 5, true);
  put_be24(&p.bhs[5], 16 * 1024 * 1024 - 1);
  std::vector<uint8_t> bytes(p.bhs.begin(), p.bhs.end());
  ini->send_raw(bytes);
  EXPECT_TRUE(conn->must_close());
}

TEST_F(ConnectionTest, DiscoverySendTargets) {
  make();
  Pdu p = Initiator::make(Opcode::login_request, 0x80 | 1 << 2 | 3, 1, true);
  Initiator::set_text(p, {{"InitiatorName", "iqn.x:i"}, {"SessionType", "Discovery"}});
  ini->send(p);
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bhs[36], 0);
  EXPECT_TRUE(conn->discovery());
  Pdu t = Initiator::make(Opcode::text_request, 0x80, 2);
  put_be32(&t.bhs[20], kReservedTag);
  Initiator::set_text(t, {{"SendTargets", "All"}});
  ini->send(t);
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode(), Opcode::text_response);
  EXPECT_EQ(text_value(r[0], "TargetName"), config.name);
  EXPECT_EQ(text_value(r[0], "TargetAddress"), "192.0.2.10:3260,1");
  // SCSI commands are not allowed in a discovery session.
  ini->send(ini->command(3, {0, 0, 0, 0, 0, 0}, 0, false));
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode(), Opcode::reject);
}

TEST_F(ConnectionTest, TaskManagement) {
  login_ok();
  auto tmf = [&](uint8_t function, uint32_t lun, uint32_t ref) {
    Pdu p = Initiator::make(Opcode::task_mgmt_request, static_cast<uint8_t>(0x80 | function), 0x200 + function, true);
    encode_lun(&p.bhs[8], lun);
    put_be32(&p.bhs[20], ref);
    put_be32(&p.bhs[24], ini->cmdsn);
    ini->send(p);
    auto r = ini->drain();
    EXPECT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].opcode(), Opcode::task_mgmt_response);
    return r.empty() ? 0xff : r[0].bhs[2];
  };
  EXPECT_EQ(tmf(1, 0, 0x999), 1) << "ABORT TASK of an unknown task";
  EXPECT_EQ(tmf(2, 0, 0), 0) << "ABORT TASK SET";
  EXPECT_EQ(tmf(4, 0, 0), 0) << "CLEAR TASK SET";
  EXPECT_EQ(tmf(5, 0, 0), 0) << "LOGICAL UNIT RESET";
  EXPECT_EQ(unit->resets, 1);
  EXPECT_EQ(tmf(5, 9, 0), 2) << "no such LUN";
  EXPECT_EQ(tmf(6, 0, 0), 0) << "TARGET WARM RESET";
  EXPECT_EQ(unit->resets, 2);
  EXPECT_EQ(tmf(8, 0, 0), 4) << "TASK REASSIGN at ERL 0";

  // ABORT TASK of a command waiting for its CmdSN: never executed.
  const uint32_t exp = ini->cmdsn;
  ini->cmdsn = exp + 1;
  ini->send(ini->command(0x77, {0, 0, 0, 0, 0, 0}, 0, false));
  EXPECT_EQ(tmf(1, 0, 0x77), 0);
  const int before = unit->commands;
  ini->cmdsn = exp;
  ini->send(ini->command(0x78, {0, 0, 0, 0, 0, 0}, 0, false));
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].itt(), 0x78u);
  EXPECT_EQ(unit->commands, before + 1);
  Pdu nop = Initiator::make(Opcode::nop_out, 0x80, 0x79, true);
  put_be32(&nop.bhs[20], kReservedTag);
  ini->send(nop);
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].u32(28), exp + 2) << "aborted command's CmdSN consumed";
}

TEST_F(ConnectionTest, AsyncMessageForNewUnitAttention) {
  login_ok();
  conn->tick(Clock::now());
  EXPECT_TRUE(ini->drain().empty());
  unit->set_unit_attention();
  conn->tick(Clock::now());
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode(), Opcode::async_message);
  EXPECT_EQ(r[0].bhs[36], 0);
  EXPECT_EQ(r[0].data[2 + 2], 0x06);
  conn->tick(Clock::now());
  EXPECT_TRUE(ini->drain().empty()) << "announced once";
}

TEST_F(ConnectionTest, AsyncMessageCarriesThePendingUnitAttention) {
  login_ok();
  conn->tick(Clock::now());
  EXPECT_TRUE(ini->drain().empty());
  struct Case {
    const char* what;
    std::function<void()> cause;
    uint8_t asc;
  };
  const Case cases[] = {
      {"logical unit reset", [&] { unit->logical_unit_reset(); }, 0x29},
      {"medium change", [&] { unit->set_unit_attention(device::asc::kNotReadyToReadyChange); }, 0x28},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    c.cause();
    conn->tick(Clock::now());
    auto r = ini->drain();
    ASSERT_EQ(r.size(), 1u);
    ASSERT_EQ(r[0].opcode(), Opcode::async_message);
    EXPECT_EQ(r[0].bhs[36], 0) << "AsyncEvent 0: SCSI asynchronous event";
    ASSERT_EQ(r[0].data.size(), 2u + 18);
    EXPECT_EQ(get_be16(&r[0].data[0]), 18u);
    EXPECT_EQ(r[0].data[2 + 0], 0x70);
    EXPECT_EQ(r[0].data[2 + 2], 0x06) << "UNIT ATTENTION";
    EXPECT_EQ(r[0].data[2 + 12], c.asc);
    EXPECT_EQ(r[0].data[2 + 13], 0x00);
    EXPECT_TRUE(unit->has_unit_attention(0)) << "announcing does not consume";
    // The initiator's next command gets the same unit attention as CHECK CONDITION.
    ini->send(ini->command(0x100 + c.asc, {0, 0, 0, 0, 0, 0}, 0, false));
    r = ini->drain();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].bhs[3], 0x02) << "CHECK CONDITION";
    ASSERT_GE(r[0].data.size(), 2u + 14);
    EXPECT_EQ(r[0].data[2 + 2], 0x06);
    EXPECT_EQ(r[0].data[2 + 12], c.asc);
    conn->tick(Clock::now());
    EXPECT_TRUE(ini->drain().empty()) << "nothing pending, nothing announced";
  }
}

TEST_F(ConnectionTest, ReportLunsAndMissingLun) {
  login_ok();
  std::vector<uint8_t> cdb(12, 0);
  cdb[0] = 0xA0;
  put_be32(&cdb[6], 256);
  ini->send(ini->command(1, cdb, 256, true));
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].data.size(), 8u + 3 * 8);
  EXPECT_EQ(get_be32(&r[0].data[0]), 24u);
  EXPECT_EQ(r[0].data[8 + 8 + 1], 1);
  EXPECT_EQ(r[0].data[8 + 16 + 1], 2);
  EXPECT_EQ(r[0].flags() & 0x03, 0x03) << "S + U";

  ini->send(ini->command(2, {0x12, 0, 0, 0, 36, 0}, 36, true, false, 7));
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].data[0], 0x7f) << "no logical unit at LUN 7";
  ini->send(ini->command(3, {0, 0, 0, 0, 0, 0}, 0, false, false, 7));
  r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].bhs[3], 0x02);
  EXPECT_EQ(r[0].data[2 + 12], 0x25);
}

TEST_F(ConnectionTest, LogoutClosesAndReleasesNexus) {
  login_ok();
  Pdu p = Initiator::make(Opcode::logout_request, 0x80, 0x42, true);
  put_be32(&p.bhs[24], ini->cmdsn);
  ini->send(p);
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode(), Opcode::logout_response);
  EXPECT_EQ(r[0].bhs[2], 0);
  EXPECT_TRUE(conn->closing());
  const auto id = conn->initiator_id();
  conn.reset();
  ASSERT_EQ(unit->gone.size(), 1u);
  EXPECT_EQ(unit->gone[0], id);
}

TEST_F(ConnectionTest, PipelinedCommandsInOneReceive) {
  login_ok();
  std::vector<uint8_t> bytes;
  for (uint32_t i = 0; i < 100; ++i) {
    auto b = serialize(ini->command(i, Initiator::read10(i % 60, 1), 2048, true), false, false);
    bytes.insert(bytes.end(), b.begin(), b.end());
  }
  ini->send_raw(bytes);
  auto r = ini->drain();
  ASSERT_EQ(r.size(), 100u);
  for (uint32_t i = 0; i < 100; ++i) {
    EXPECT_EQ(r[i].itt(), i);
    EXPECT_EQ(r[i].data[5], FakeUnit::byte_at(i % 60, 5));
  }
}

}  // namespace
}  // namespace udisc::iscsi

namespace udisc::iscsi {
namespace {

TEST(ConnectionOffload, LargeReadsCompleteLaterAndSafelyAfterClose) {
  auto unit = std::make_shared<testing::FakeUnit>();
  TargetConfig config;
  config.name = "iqn.2025-01.org.udisc:test";
  config.luns = {unit};
  std::vector<std::pair<std::function<void()>, std::function<void()>>> jobs;
  Connection::Context ctx;
  ctx.target = &config;
  ctx.offload = [&](std::function<void()> work, std::function<void()> done) { jobs.emplace_back(work, done); };
  ctx.offload_min_bytes = 32768;
  auto conn = std::make_unique<Connection>(ctx, std::chrono::steady_clock::now());
  testing::Initiator ini(*conn);
  ASSERT_EQ(ini.login({{"MaxRecvDataSegmentLength", "262144"}}).size(), 1u);
  ini.send(ini.command(1, testing::Initiator::read10(0, 32), 65536, true));  // offloaded
  ini.send(ini.command(2, testing::Initiator::read10(5, 1), 2048, true));    // inline
  auto r = ini.drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].itt(), 2u) << "small read answered while the large one runs";
  ASSERT_EQ(jobs.size(), 1u);
  jobs[0].first();
  jobs[0].second();
  r = ini.drain();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].itt(), 1u);
  EXPECT_EQ(r[0].data.size(), 65536u);
  EXPECT_EQ(r[0].data[65535], testing::FakeUnit::byte_at(31, 2047));
  EXPECT_EQ(r[0].flags() & 0x01, 0x01);
  // A completion arriving after the connection is gone is dropped.
  ini.send(ini.command(3, testing::Initiator::read10(0, 32), 65536, true));
  ASSERT_EQ(jobs.size(), 2u);
  jobs[1].first();
  conn.reset();
  jobs[1].second();
}

}  // namespace
}  // namespace udisc::iscsi
