

module top(clock,reset,s_axil_awaddr,s_axil_awvalid,s_axil_awready,s_axil_wdata,s_axil_wvalid,s_axil_wready,s_axil_bresp,s_axil_bvalid,s_axil_bready,s_axil_araddr,s_axil_arvalid,s_axil_arready,s_axil_rdata,s_axil_rresp,s_axil_rvalid,s_axil_rready,s_axis_tdata,s_axis_tkeep,s_axis_tlast,s_axis_tvalid,s_axis_tready,s_axis_tuser,m_axis_tdata,m_axis_tkeep,m_axis_tlast,m_axis_tvalid,m_axis_tready,m_axis_tuser);
    
    // Module arguments
    input wire  clock;
    input wire  reset;
    input wire  [15:0] s_axil_awaddr;
    input wire  s_axil_awvalid;
    output reg  s_axil_awready;
    input wire  [31:0] s_axil_wdata;
    input wire  s_axil_wvalid;
    output reg  s_axil_wready;
    output reg  [1:0] s_axil_bresp;
    output reg  s_axil_bvalid;
    input wire  s_axil_bready;
    input wire  [15:0] s_axil_araddr;
    input wire  s_axil_arvalid;
    output reg  s_axil_arready;
    output reg  [31:0] s_axil_rdata;
    output reg  [1:0] s_axil_rresp;
    output reg  s_axil_rvalid;
    input wire  s_axil_rready;
    input wire  [127:0] s_axis_tdata;
    input wire  [15:0] s_axis_tkeep;
    input wire  s_axis_tlast;
    input wire  s_axis_tvalid;
    output reg  s_axis_tready;
    input wire  [63:0] s_axis_tuser;
    output reg  [127:0] m_axis_tdata;
    output reg  [15:0] m_axis_tkeep;
    output reg  m_axis_tlast;
    output reg  m_axis_tvalid;
    input wire  m_axis_tready;
    output reg  [95:0] m_axis_tuser;
    
    // Constant declarations
    localparam  k_hi32 = 64'hffffffff00000000;
    localparam  k_seq32_max = 64'hffffffff;
    localparam  k_lo32 = 64'hffffffff;
    localparam  k_cnt_auth_mask = 160'hffffffff00000000000000000000000000000000;
    localparam  k_ctx_salt_mask = 136'hffffffff00000000;
    localparam  k_buf_words = 16'h400;
    localparam  k_bit31 = 32'h80000000;
    localparam  v_ok = 4'h0;
    localparam  v_auth = 4'h1;
    localparam  v_bad_sa = 4'h2;
    localparam  v_dir = 4'h3;
    localparam  v_len = 4'h4;
    localparam  v_trailer = 4'h5;
    localparam  v_seq = 4'h6;
    localparam  v_spi = 4'h7;
    localparam  e_bad_index = 4'h1;
    localparam  e_bad_opcode = 4'h2;
    localparam  e_unsupported = 4'h3;
    localparam  e_not_valid = 4'h4;
    localparam  k_magic = 32'h45535045;
    localparam  k_version = 32'h1;
    localparam  k_caps = 32'h6f;
    localparam  k_num_sas = 32'h400;
    localparam  k_datapath = 32'h800001;
    localparam  k_max_packet = 16'h2400;
    localparam  k_min_inbound = 16'h24;
    localparam  o_id_magic = 16'h0;
    localparam  o_id_version = 16'h4;
    localparam  o_id_caps = 16'h8;
    localparam  o_id_num_sas = 16'hc;
    localparam  o_id_datapath = 16'h10;
    localparam  o_id_max_packet = 16'h14;
    localparam  o_scratch = 16'h40;
    localparam  o_status = 16'h44;
    localparam  o_error_events = 16'h48;
    localparam  o_sa_index = 16'h100;
    localparam  o_sa_spi = 16'h104;
    localparam  o_sa_salt = 16'h108;
    localparam  o_sa_flags = 16'h10c;
    localparam  o_sa_seq_lo = 16'h110;
    localparam  o_sa_seq_hi = 16'h114;
    localparam  o_sa_key0 = 16'h120;
    localparam  o_sa_key1 = 16'h124;
    localparam  o_sa_key2 = 16'h128;
    localparam  o_sa_key3 = 16'h12c;
    localparam  o_sa_key4 = 16'h130;
    localparam  o_sa_key5 = 16'h134;
    localparam  o_sa_key6 = 16'h138;
    localparam  o_sa_key7 = 16'h13c;
    localparam  o_sa_cmd = 16'h140;
    localparam  o_sa_cmd_status = 16'h144;
    localparam  o_rb_spi = 16'h150;
    localparam  o_rb_flags = 16'h154;
    localparam  o_rb_seq_lo = 16'h158;
    localparam  o_rb_seq_hi = 16'h15c;
    localparam  o_rb_pkts_lo = 16'h160;
    localparam  o_rb_pkts_hi = 16'h164;
    localparam  o_rb_bytes_lo = 16'h168;
    localparam  o_rb_bytes_hi = 16'h16c;
    localparam  o_rb_auth = 16'h170;
    localparam  o_pkt_desc = 16'h200;
    localparam  o_pkt_len = 16'h204;
    localparam  o_pkt_seq_hi = 16'h208;
    localparam  o_pkt_doorbell = 16'h20c;
    localparam  o_pkt_status = 16'h210;
    localparam  o_res_len = 16'h214;
    localparam  o_res_seq_lo = 16'h218;
    localparam  o_res_seq_hi = 16'h21c;
    localparam  o_cnt_out_pkts_lo = 16'h300;
    localparam  o_cnt_out_pkts_hi = 16'h304;
    localparam  o_cnt_out_bytes_lo = 16'h308;
    localparam  o_cnt_out_bytes_hi = 16'h30c;
    localparam  o_cnt_in_pkts_lo = 16'h310;
    localparam  o_cnt_in_pkts_hi = 16'h314;
    localparam  o_cnt_in_bytes_lo = 16'h318;
    localparam  o_cnt_in_bytes_hi = 16'h31c;
    localparam  o_cnt_auth_lo = 16'h320;
    localparam  o_cnt_auth_hi = 16'h324;
    localparam  o_cnt_bad_lo = 16'h328;
    localparam  o_cnt_bad_hi = 16'h32c;
    localparam  o_in_window = 16'h8000;
    localparam  o_out_window = 16'hc000;
    localparam  s_ctx_salt = 16'h20;
    localparam  s_ctx_seq = 16'h40;
    localparam  s_ctx_flags = 16'h80;
    localparam  s_ctx_valid = 16'h84;
    localparam  s_cnt_bytes = 16'h40;
    localparam  s_cnt_auth = 16'h80;
    
    // Enums
    localparam Phase$Idle = 0;
    localparam Phase$Rx = 1;
    localparam Phase$PktLoad = 2;
    localparam Phase$PktCheck = 3;
    localparam Phase$PktKey = 4;
    localparam Phase$PktRun = 5;
    localparam Phase$PktLen = 6;
    localparam Phase$PktTag = 7;
    localparam Phase$PktIcv0 = 8;
    localparam Phase$PktIcv1 = 9;
    localparam Phase$PktIcv2 = 10;
    localparam Phase$PktTagOut1 = 11;
    localparam Phase$PktTagOut2 = 12;
    localparam Phase$PktFinish = 13;
    localparam Phase$TxPrime = 14;
    localparam Phase$Tx = 15;
    localparam Phase$CmdLoad = 16;
    localparam Phase$CmdCheck = 17;
    localparam Phase$CmdKey = 18;
    localparam Phase$CmdHash = 19;
    localparam Phase$CmdDone = 20;
    
    // Stub signals
    reg  [9:0] in_b0$read_address;
    reg  in_b0$read_clock;
    wire  [31:0] in_b0$read_data;
    reg  [9:0] in_b0$write_address;
    reg  in_b0$write_clock;
    reg  [31:0] in_b0$write_data;
    reg  in_b0$write_enable;
    reg  [9:0] in_b1$read_address;
    reg  in_b1$read_clock;
    wire  [31:0] in_b1$read_data;
    reg  [9:0] in_b1$write_address;
    reg  in_b1$write_clock;
    reg  [31:0] in_b1$write_data;
    reg  in_b1$write_enable;
    reg  [9:0] in_b2$read_address;
    reg  in_b2$read_clock;
    wire  [31:0] in_b2$read_data;
    reg  [9:0] in_b2$write_address;
    reg  in_b2$write_clock;
    reg  [31:0] in_b2$write_data;
    reg  in_b2$write_enable;
    reg  [9:0] in_b3$read_address;
    reg  in_b3$read_clock;
    wire  [31:0] in_b3$read_data;
    reg  [9:0] in_b3$write_address;
    reg  in_b3$write_clock;
    reg  [31:0] in_b3$write_data;
    reg  in_b3$write_enable;
    reg  [9:0] out_buf$read_address;
    reg  out_buf$read_clock;
    wire  [127:0] out_buf$read_data;
    reg  [9:0] out_buf$write_address;
    reg  out_buf$write_clock;
    reg  [127:0] out_buf$write_data;
    reg  out_buf$write_enable;
    reg  [9:0] sa_key$read_address;
    reg  sa_key$read_clock;
    wire  [255:0] sa_key$read_data;
    reg  [9:0] sa_key$write_address;
    reg  sa_key$write_clock;
    reg  [255:0] sa_key$write_data;
    reg  sa_key$write_enable;
    reg  [9:0] sa_hkey$read_address;
    reg  sa_hkey$read_clock;
    wire  [127:0] sa_hkey$read_data;
    reg  [9:0] sa_hkey$write_address;
    reg  sa_hkey$write_clock;
    reg  [127:0] sa_hkey$write_data;
    reg  sa_hkey$write_enable;
    reg  [9:0] sa_ctx$read_address;
    reg  sa_ctx$read_clock;
    wire  [135:0] sa_ctx$read_data;
    reg  [9:0] sa_ctx$write_address;
    reg  sa_ctx$write_clock;
    reg  [135:0] sa_ctx$write_data;
    reg  sa_ctx$write_enable;
    reg  [9:0] sa_cnt$read_address;
    reg  sa_cnt$read_clock;
    wire  [159:0] sa_cnt$read_data;
    reg  [9:0] sa_cnt$write_address;
    reg  sa_cnt$write_clock;
    reg  [159:0] sa_cnt$write_data;
    reg  sa_cnt$write_enable;
    reg  aes$clock;
    reg  [255:0] aes$key;
    reg  aes$aes256;
    reg  aes$key_load;
    wire  aes$key_ready;
    reg  aes$in_valid;
    reg  [127:0] aes$in_block;
    wire  aes$out_valid;
    wire  [127:0] aes$out_block;
    reg  ghash$clock;
    reg  [127:0] ghash$h;
    reg  ghash$clear;
    reg  ghash$in_valid;
    reg  [127:0] ghash$in_block;
    wire  ghash$idle;
    wire  [127:0] ghash$y;
    reg  [31:0] bs_din_spi$din;
    wire  [31:0] bs_din_spi$dout;
    reg  [31:0] bs_din_slo$din;
    wire  [31:0] bs_din_slo$dout;
    reg  [31:0] bs_spi$din;
    wire  [31:0] bs_spi$dout;
    reg  [31:0] bs_slo$din;
    wire  [31:0] bs_slo$dout;
    reg  [31:0] bs_shi$din;
    wire  [31:0] bs_shi$dout;
    reg  [31:0] bs_ctr$din;
    wire  [31:0] bs_ctr$dout;
    reg  [63:0] bs_seq64$din;
    wire  [63:0] bs_seq64$dout;
    reg  [63:0] bs_la$din;
    wire  [63:0] bs_la$dout;
    reg  [63:0] bs_lc$din;
    wire  [63:0] bs_lc$dout;
    reg  [127:0] bs_nonce$din;
    wire  [127:0] bs_nonce$dout;
    reg  [127:0] bs_ks$din;
    wire  [127:0] bs_ks$dout;
    reg  [127:0] bs_gh$din;
    wire  [127:0] bs_gh$dout;
    reg  [127:0] bs_tag$din;
    wire  [127:0] bs_tag$dout;
    reg  [127:0] bs_k0$din;
    wire  [127:0] bs_k0$dout;
    reg  [127:0] bs_k1$din;
    wire  [127:0] bs_k1$dout;
    reg  [15:0] m_valid$count;
    wire  [127:0] m_valid$mask;
    reg  [15:0] m_in$count;
    wire  [127:0] m_in$mask;
    reg  [15:0] keep_cnt$keep;
    wire  [15:0] keep_cnt$count;
    reg  [15:0] tx_keep$count;
    wire  [15:0] tx_keep$keep;
    reg  bvalid$d;
    wire  bvalid$q;
    reg  bvalid$clock;
    reg  [1:0] rstate$d;
    wire  [1:0] rstate$q;
    reg  rstate$clock;
    reg  [15:0] raddr$d;
    wire  [15:0] raddr$q;
    reg  raddr$clock;
    reg  [31:0] rdata$d;
    wire  [31:0] rdata$q;
    reg  rdata$clock;
    reg  [31:0] hi_snap$d;
    wire  [31:0] hi_snap$q;
    reg  hi_snap$clock;
    reg  [31:0] scratch$d;
    wire  [31:0] scratch$q;
    reg  scratch$clock;
    reg  [4:0] err_events$d;
    wire  [4:0] err_events$q;
    reg  err_events$clock;
    reg  [15:0] sa_index$d;
    wire  [15:0] sa_index$q;
    reg  sa_index$clock;
    reg  [31:0] sa_spi$d;
    wire  [31:0] sa_spi$q;
    reg  sa_spi$clock;
    reg  [31:0] sa_salt$d;
    wire  [31:0] sa_salt$q;
    reg  sa_salt$clock;
    reg  [3:0] sa_flags$d;
    wire  [3:0] sa_flags$q;
    reg  sa_flags$clock;
    reg  [63:0] sa_seq$d;
    wire  [63:0] sa_seq$q;
    reg  sa_seq$clock;
    reg  [31:0] key0$d;
    wire  [31:0] key0$q;
    reg  key0$clock;
    reg  [31:0] key1$d;
    wire  [31:0] key1$q;
    reg  key1$clock;
    reg  [31:0] key2$d;
    wire  [31:0] key2$q;
    reg  key2$clock;
    reg  [31:0] key3$d;
    wire  [31:0] key3$q;
    reg  key3$clock;
    reg  [31:0] key4$d;
    wire  [31:0] key4$q;
    reg  key4$clock;
    reg  [31:0] key5$d;
    wire  [31:0] key5$q;
    reg  key5$clock;
    reg  [31:0] key6$d;
    wire  [31:0] key6$q;
    reg  key6$clock;
    reg  [31:0] key7$d;
    wire  [31:0] key7$q;
    reg  key7$clock;
    reg  [3:0] sa_op$d;
    wire  [3:0] sa_op$q;
    reg  sa_op$clock;
    reg  cmd_pending$d;
    wire  cmd_pending$q;
    reg  cmd_pending$clock;
    reg  sa_done$d;
    wire  sa_done$q;
    reg  sa_done$clock;
    reg  sa_error$d;
    wire  sa_error$q;
    reg  sa_error$clock;
    reg  sa_valid$d;
    wire  sa_valid$q;
    reg  sa_valid$clock;
    reg  [3:0] sa_errcode$d;
    wire  [3:0] sa_errcode$q;
    reg  sa_errcode$clock;
    reg  [31:0] rb_spi$d;
    wire  [31:0] rb_spi$q;
    reg  rb_spi$clock;
    reg  [3:0] rb_flags$d;
    wire  [3:0] rb_flags$q;
    reg  rb_flags$clock;
    reg  rb_valid$d;
    wire  rb_valid$q;
    reg  rb_valid$clock;
    reg  [63:0] rb_seq$d;
    wire  [63:0] rb_seq$q;
    reg  rb_seq$clock;
    reg  [63:0] rb_pkts$d;
    wire  [63:0] rb_pkts$q;
    reg  rb_pkts$clock;
    reg  [63:0] rb_bytes$d;
    wire  [63:0] rb_bytes$q;
    reg  rb_bytes$clock;
    reg  [31:0] rb_auth$d;
    wire  [31:0] rb_auth$q;
    reg  rb_auth$clock;
    reg  [31:0] pkt_desc$d;
    wire  [31:0] pkt_desc$q;
    reg  pkt_desc$clock;
    reg  [15:0] pkt_len$d;
    wire  [15:0] pkt_len$q;
    reg  pkt_len$clock;
    reg  [31:0] pkt_seqhi$d;
    wire  [31:0] pkt_seqhi$q;
    reg  pkt_seqhi$clock;
    reg  db_pending$d;
    wire  db_pending$q;
    reg  db_pending$clock;
    reg  win_active$d;
    wire  win_active$q;
    reg  win_active$clock;
    reg  pkt_done$d;
    wire  pkt_done$q;
    reg  pkt_done$clock;
    reg  [3:0] res_verdict$d;
    wire  [3:0] res_verdict$q;
    reg  res_verdict$clock;
    reg  [7:0] res_nh$d;
    wire  [7:0] res_nh$q;
    reg  res_nh$clock;
    reg  [15:0] res_len$d;
    wire  [15:0] res_len$q;
    reg  res_len$clock;
    reg  [63:0] res_seq$d;
    wire  [63:0] res_seq$q;
    reg  res_seq$clock;
    reg  res_ok$d;
    wire  res_ok$q;
    reg  res_ok$clock;
    reg  [63:0] cnt_out_pkts$d;
    wire  [63:0] cnt_out_pkts$q;
    reg  cnt_out_pkts$clock;
    reg  [63:0] cnt_out_bytes$d;
    wire  [63:0] cnt_out_bytes$q;
    reg  cnt_out_bytes$clock;
    reg  [63:0] cnt_in_pkts$d;
    wire  [63:0] cnt_in_pkts$q;
    reg  cnt_in_pkts$clock;
    reg  [63:0] cnt_in_bytes$d;
    wire  [63:0] cnt_in_bytes$q;
    reg  cnt_in_bytes$clock;
    reg  [63:0] cnt_auth$d;
    wire  [63:0] cnt_auth$q;
    reg  cnt_auth$clock;
    reg  [63:0] cnt_bad$d;
    wire  [63:0] cnt_bad$q;
    reg  cnt_bad$clock;
    reg  [4:0] phase$d;
    wire  [4:0] phase$q;
    reg  phase$clock;
    reg  [9:0] cur_idx$d;
    wire  [9:0] cur_idx$q;
    reg  cur_idx$clock;
    reg  src_stream$d;
    wire  src_stream$q;
    reg  src_stream$clock;
    reg  [15:0] d_index$d;
    wire  [15:0] d_index$q;
    reg  d_index$clock;
    reg  d_inbound$d;
    wire  d_inbound$q;
    reg  d_inbound$clock;
    reg  [7:0] d_nh$d;
    wire  [7:0] d_nh$q;
    reg  d_nh$clock;
    reg  [31:0] d_seqhi$d;
    wire  [31:0] d_seqhi$q;
    reg  d_seqhi$clock;
    reg  [15:0] d_len$d;
    wire  [15:0] d_len$q;
    reg  d_len$clock;
    reg  [31:0] c_spi$d;
    wire  [31:0] c_spi$q;
    reg  c_spi$clock;
    reg  [31:0] c_salt$d;
    wire  [31:0] c_salt$q;
    reg  c_salt$clock;
    reg  [3:0] c_flags$d;
    wire  [3:0] c_flags$q;
    reg  c_flags$clock;
    reg  [159:0] c_cnt$d;
    wire  [159:0] c_cnt$q;
    reg  c_cnt$clock;
    reg  [63:0] seq_cur$d;
    wire  [63:0] seq_cur$q;
    reg  seq_cur$clock;
    reg  [63:0] iv_pkt$d;
    wire  [63:0] iv_pkt$q;
    reg  iv_pkt$clock;
    reg  [127:0] hkey$d;
    wire  [127:0] hkey$q;
    reg  hkey$clock;
    reg  [15:0] dlen$d;
    wire  [15:0] dlen$q;
    reg  dlen$clock;
    reg  [15:0] nblk$d;
    wire  [15:0] nblk$q;
    reg  nblk$clock;
    reg  [63:0] tp$d;
    wire  [63:0] tp$q;
    reg  tp$clock;
    reg  [15:0] iss$d;
    wire  [15:0] iss$q;
    reg  iss$clock;
    reg  [15:0] cons$d;
    wire  [15:0] cons$q;
    reg  cons$clock;
    reg  got_j0$d;
    wire  got_j0$q;
    reg  got_j0$clock;
    reg  [127:0] ej0$d;
    wire  [127:0] ej0$q;
    reg  ej0$clock;
    reg  [127:0] last_ct$d;
    wire  [127:0] last_ct$q;
    reg  last_ct$clock;
    reg  [127:0] tag$d;
    wire  [127:0] tag$q;
    reg  tag$clock;
    reg  [127:0] icv_lo$d;
    wire  [127:0] icv_lo$q;
    reg  icv_lo$clock;
    reg  [7:0] padlen$d;
    wire  [7:0] padlen$q;
    reg  padlen$clock;
    reg  [7:0] rx_nh$d;
    wire  [7:0] rx_nh$q;
    reg  rx_nh$clock;
    reg  [3:0] verdict$d;
    wire  [3:0] verdict$q;
    reg  verdict$clock;
    reg  [15:0] rlen$d;
    wire  [15:0] rlen$q;
    reg  rlen$clock;
    reg  rx_first$d;
    wire  rx_first$q;
    reg  rx_first$clock;
    reg  [15:0] rx_words$d;
    wire  [15:0] rx_words$q;
    reg  rx_words$clock;
    reg  [15:0] rx_bytes$d;
    wire  [15:0] rx_bytes$q;
    reg  rx_bytes$clock;
    reg  [15:0] tx_w$d;
    wire  [15:0] tx_w$q;
    reg  tx_w$clock;
    
    // Local signals
    reg  [127:0] din;
    reg  [15:0] in_rd;
    reg  [15:0] out_rd;
    reg  consume;
    reg  [15:0] k16;
    reg  [127:0] trail;
    reg  [127:0] pt;
    reg  [127:0] ct;
    reg  [127:0] ks;
    reg  [63:0] iv_le;
    reg  [127:0] nonce_le;
    reg  [127:0] aad_le;
    reg  [255:0] key_le;
    reg  [135:0] ctx_rd;
    reg  ctx_valid;
    reg  [3:0] ctx_flags;
    reg  [63:0] ctx_seq;
    reg  [135:0] ctx_new;
    reg  [4:0] err_set;
    reg  [4:0] err_clr;
    reg  wr_fire;
    reg  [31:0] rd_value;
    reg  rd_snap;
    reg  [31:0] rd_snap_value;
    reg  pkt_busy;
    reg  [15:0] icv_shift;
    reg  [127:0] icv;
    reg  [15:0] pad_p;
    reg  [15:0] pad_len_calc;
    reg  [135:0] ctx_sh_valid;
    reg  [135:0] ctx_sh_flags;
    reg  [135:0] ctx_sh_seq;
    reg  [135:0] ctx_sh_salt;
    reg  [159:0] cnt_sh_bytes;
    reg  [159:0] cnt_sh_auth;
    reg  [159:0] rdc_sh_bytes;
    reg  [159:0] rdc_sh_auth;
    reg  [127:0] pt_sh_pad;
    reg  [127:0] pt_sh_nh;
    reg  [31:0] w_status;
    reg  [31:0] w_sa_status;
    reg  [31:0] w_rb_flags;
    reg  [31:0] w_pkt_status;
    
    // Sub module instances
    top$in_b0 in_b0(
        .read_address(in_b0$read_address),
        .read_clock(in_b0$read_clock),
        .read_data(in_b0$read_data),
        .write_address(in_b0$write_address),
        .write_clock(in_b0$write_clock),
        .write_data(in_b0$write_data),
        .write_enable(in_b0$write_enable)
    );
    top$in_b1 in_b1(
        .read_address(in_b1$read_address),
        .read_clock(in_b1$read_clock),
        .read_data(in_b1$read_data),
        .write_address(in_b1$write_address),
        .write_clock(in_b1$write_clock),
        .write_data(in_b1$write_data),
        .write_enable(in_b1$write_enable)
    );
    top$in_b2 in_b2(
        .read_address(in_b2$read_address),
        .read_clock(in_b2$read_clock),
        .read_data(in_b2$read_data),
        .write_address(in_b2$write_address),
        .write_clock(in_b2$write_clock),
        .write_data(in_b2$write_data),
        .write_enable(in_b2$write_enable)
    );
    top$in_b3 in_b3(
        .read_address(in_b3$read_address),
        .read_clock(in_b3$read_clock),
        .read_data(in_b3$read_data),
        .write_address(in_b3$write_address),
        .write_clock(in_b3$write_clock),
        .write_data(in_b3$write_data),
        .write_enable(in_b3$write_enable)
    );
    top$out_buf out_buf(
        .read_address(out_buf$read_address),
        .read_clock(out_buf$read_clock),
        .read_data(out_buf$read_data),
        .write_address(out_buf$write_address),
        .write_clock(out_buf$write_clock),
        .write_data(out_buf$write_data),
        .write_enable(out_buf$write_enable)
    );
    top$sa_key sa_key(
        .read_address(sa_key$read_address),
        .read_clock(sa_key$read_clock),
        .read_data(sa_key$read_data),
        .write_address(sa_key$write_address),
        .write_clock(sa_key$write_clock),
        .write_data(sa_key$write_data),
        .write_enable(sa_key$write_enable)
    );
    top$sa_hkey sa_hkey(
        .read_address(sa_hkey$read_address),
        .read_clock(sa_hkey$read_clock),
        .read_data(sa_hkey$read_data),
        .write_address(sa_hkey$write_address),
        .write_clock(sa_hkey$write_clock),
        .write_data(sa_hkey$write_data),
        .write_enable(sa_hkey$write_enable)
    );
    top$sa_ctx sa_ctx(
        .read_address(sa_ctx$read_address),
        .read_clock(sa_ctx$read_clock),
        .read_data(sa_ctx$read_data),
        .write_address(sa_ctx$write_address),
        .write_clock(sa_ctx$write_clock),
        .write_data(sa_ctx$write_data),
        .write_enable(sa_ctx$write_enable)
    );
    top$sa_cnt sa_cnt(
        .read_address(sa_cnt$read_address),
        .read_clock(sa_cnt$read_clock),
        .read_data(sa_cnt$read_data),
        .write_address(sa_cnt$write_address),
        .write_clock(sa_cnt$write_clock),
        .write_data(sa_cnt$write_data),
        .write_enable(sa_cnt$write_enable)
    );
    top$aes aes(
        .clock(aes$clock),
        .key(aes$key),
        .aes256(aes$aes256),
        .key_load(aes$key_load),
        .key_ready(aes$key_ready),
        .in_valid(aes$in_valid),
        .in_block(aes$in_block),
        .out_valid(aes$out_valid),
        .out_block(aes$out_block)
    );
    top$ghash ghash(
        .clock(ghash$clock),
        .h(ghash$h),
        .clear(ghash$clear),
        .in_valid(ghash$in_valid),
        .in_block(ghash$in_block),
        .idle(ghash$idle),
        .y(ghash$y)
    );
    top$bs_din_spi bs_din_spi(
        .din(bs_din_spi$din),
        .dout(bs_din_spi$dout)
    );
    top$bs_din_slo bs_din_slo(
        .din(bs_din_slo$din),
        .dout(bs_din_slo$dout)
    );
    top$bs_spi bs_spi(
        .din(bs_spi$din),
        .dout(bs_spi$dout)
    );
    top$bs_slo bs_slo(
        .din(bs_slo$din),
        .dout(bs_slo$dout)
    );
    top$bs_shi bs_shi(
        .din(bs_shi$din),
        .dout(bs_shi$dout)
    );
    top$bs_ctr bs_ctr(
        .din(bs_ctr$din),
        .dout(bs_ctr$dout)
    );
    top$bs_seq64 bs_seq64(
        .din(bs_seq64$din),
        .dout(bs_seq64$dout)
    );
    top$bs_la bs_la(
        .din(bs_la$din),
        .dout(bs_la$dout)
    );
    top$bs_lc bs_lc(
        .din(bs_lc$din),
        .dout(bs_lc$dout)
    );
    top$bs_nonce bs_nonce(
        .din(bs_nonce$din),
        .dout(bs_nonce$dout)
    );
    top$bs_ks bs_ks(
        .din(bs_ks$din),
        .dout(bs_ks$dout)
    );
    top$bs_gh bs_gh(
        .din(bs_gh$din),
        .dout(bs_gh$dout)
    );
    top$bs_tag bs_tag(
        .din(bs_tag$din),
        .dout(bs_tag$dout)
    );
    top$bs_k0 bs_k0(
        .din(bs_k0$din),
        .dout(bs_k0$dout)
    );
    top$bs_k1 bs_k1(
        .din(bs_k1$din),
        .dout(bs_k1$dout)
    );
    top$m_valid m_valid(
        .count(m_valid$count),
        .mask(m_valid$mask)
    );
    top$m_in m_in(
        .count(m_in$count),
        .mask(m_in$mask)
    );
    top$keep_cnt keep_cnt(
        .keep(keep_cnt$keep),
        .count(keep_cnt$count)
    );
    top$tx_keep tx_keep(
        .count(tx_keep$count),
        .keep(tx_keep$keep)
    );
    top$bvalid bvalid(
        .d(bvalid$d),
        .q(bvalid$q),
        .clock(bvalid$clock)
    );
    top$rstate rstate(
        .d(rstate$d),
        .q(rstate$q),
        .clock(rstate$clock)
    );
    top$raddr raddr(
        .d(raddr$d),
        .q(raddr$q),
        .clock(raddr$clock)
    );
    top$rdata rdata(
        .d(rdata$d),
        .q(rdata$q),
        .clock(rdata$clock)
    );
    top$hi_snap hi_snap(
        .d(hi_snap$d),
        .q(hi_snap$q),
        .clock(hi_snap$clock)
    );
    top$scratch scratch(
        .d(scratch$d),
        .q(scratch$q),
        .clock(scratch$clock)
    );
    top$err_events err_events(
        .d(err_events$d),
        .q(err_events$q),
        .clock(err_events$clock)
    );
    top$sa_index sa_index(
        .d(sa_index$d),
        .q(sa_index$q),
        .clock(sa_index$clock)
    );
    top$sa_spi sa_spi(
        .d(sa_spi$d),
        .q(sa_spi$q),
        .clock(sa_spi$clock)
    );
    top$sa_salt sa_salt(
        .d(sa_salt$d),
        .q(sa_salt$q),
        .clock(sa_salt$clock)
    );
    top$sa_flags sa_flags(
        .d(sa_flags$d),
        .q(sa_flags$q),
        .clock(sa_flags$clock)
    );
    top$sa_seq sa_seq(
        .d(sa_seq$d),
        .q(sa_seq$q),
        .clock(sa_seq$clock)
    );
    top$key0 key0(
        .d(key0$d),
        .q(key0$q),
        .clock(key0$clock)
    );
    top$key1 key1(
        .d(key1$d),
        .q(key1$q),
        .clock(key1$clock)
    );
    top$key2 key2(
        .d(key2$d),
        .q(key2$q),
        .clock(key2$clock)
    );
    top$key3 key3(
        .d(key3$d),
        .q(key3$q),
        .clock(key3$clock)
    );
    top$key4 key4(
        .d(key4$d),
        .q(key4$q),
        .clock(key4$clock)
    );
    top$key5 key5(
        .d(key5$d),
        .q(key5$q),
        .clock(key5$clock)
    );
    top$key6 key6(
        .d(key6$d),
        .q(key6$q),
        .clock(key6$clock)
    );
    top$key7 key7(
        .d(key7$d),
        .q(key7$q),
        .clock(key7$clock)
    );
    top$sa_op sa_op(
        .d(sa_op$d),
        .q(sa_op$q),
        .clock(sa_op$clock)
    );
    top$cmd_pending cmd_pending(
        .d(cmd_pending$d),
        .q(cmd_pending$q),
        .clock(cmd_pending$clock)
    );
    top$sa_done sa_done(
        .d(sa_done$d),
        .q(sa_done$q),
        .clock(sa_done$clock)
    );
    top$sa_error sa_error(
        .d(sa_error$d),
        .q(sa_error$q),
        .clock(sa_error$clock)
    );
    top$sa_valid sa_valid(
        .d(sa_valid$d),
        .q(sa_valid$q),
        .clock(sa_valid$clock)
    );
    top$sa_errcode sa_errcode(
        .d(sa_errcode$d),
        .q(sa_errcode$q),
        .clock(sa_errcode$clock)
    );
    top$rb_spi rb_spi(
        .d(rb_spi$d),
        .q(rb_spi$q),
        .clock(rb_spi$clock)
    );
    top$rb_flags rb_flags(
        .d(rb_flags$d),
        .q(rb_flags$q),
        .clock(rb_flags$clock)
    );
    top$rb_valid rb_valid(
        .d(rb_valid$d),
        .q(rb_valid$q),
        .clock(rb_valid$clock)
    );
    top$rb_seq rb_seq(
        .d(rb_seq$d),
        .q(rb_seq$q),
        .clock(rb_seq$clock)
    );
    top$rb_pkts rb_pkts(
        .d(rb_pkts$d),
        .q(rb_pkts$q),
        .clock(rb_pkts$clock)
    );
    top$rb_bytes rb_bytes(
        .d(rb_bytes$d),
        .q(rb_bytes$q),
        .clock(rb_bytes$clock)
    );
    top$rb_auth rb_auth(
        .d(rb_auth$d),
        .q(rb_auth$q),
        .clock(rb_auth$clock)
    );
    top$pkt_desc pkt_desc(
        .d(pkt_desc$d),
        .q(pkt_desc$q),
        .clock(pkt_desc$clock)
    );
    top$pkt_len pkt_len(
        .d(pkt_len$d),
        .q(pkt_len$q),
        .clock(pkt_len$clock)
    );
    top$pkt_seqhi pkt_seqhi(
        .d(pkt_seqhi$d),
        .q(pkt_seqhi$q),
        .clock(pkt_seqhi$clock)
    );
    top$db_pending db_pending(
        .d(db_pending$d),
        .q(db_pending$q),
        .clock(db_pending$clock)
    );
    top$win_active win_active(
        .d(win_active$d),
        .q(win_active$q),
        .clock(win_active$clock)
    );
    top$pkt_done pkt_done(
        .d(pkt_done$d),
        .q(pkt_done$q),
        .clock(pkt_done$clock)
    );
    top$res_verdict res_verdict(
        .d(res_verdict$d),
        .q(res_verdict$q),
        .clock(res_verdict$clock)
    );
    top$res_nh res_nh(
        .d(res_nh$d),
        .q(res_nh$q),
        .clock(res_nh$clock)
    );
    top$res_len res_len(
        .d(res_len$d),
        .q(res_len$q),
        .clock(res_len$clock)
    );
    top$res_seq res_seq(
        .d(res_seq$d),
        .q(res_seq$q),
        .clock(res_seq$clock)
    );
    top$res_ok res_ok(
        .d(res_ok$d),
        .q(res_ok$q),
        .clock(res_ok$clock)
    );
    top$cnt_out_pkts cnt_out_pkts(
        .d(cnt_out_pkts$d),
        .q(cnt_out_pkts$q),
        .clock(cnt_out_pkts$clock)
    );
    top$cnt_out_bytes cnt_out_bytes(
        .d(cnt_out_bytes$d),
        .q(cnt_out_bytes$q),
        .clock(cnt_out_bytes$clock)
    );
    top$cnt_in_pkts cnt_in_pkts(
        .d(cnt_in_pkts$d),
        .q(cnt_in_pkts$q),
        .clock(cnt_in_pkts$clock)
    );
    top$cnt_in_bytes cnt_in_bytes(
        .d(cnt_in_bytes$d),
        .q(cnt_in_bytes$q),
        .clock(cnt_in_bytes$clock)
    );
    top$cnt_auth cnt_auth(
        .d(cnt_auth$d),
        .q(cnt_auth$q),
        .clock(cnt_auth$clock)
    );
    top$cnt_bad cnt_bad(
        .d(cnt_bad$d),
        .q(cnt_bad$q),
        .clock(cnt_bad$clock)
    );
    top$phase phase(
        .d(phase$d),
        .q(phase$q),
        .clock(phase$clock)
    );
    top$cur_idx cur_idx(
        .d(cur_idx$d),
        .q(cur_idx$q),
        .clock(cur_idx$clock)
    );
    top$src_stream src_stream(
        .d(src_stream$d),
        .q(src_stream$q),
        .clock(src_stream$clock)
    );
    top$d_index d_index(
        .d(d_index$d),
        .q(d_index$q),
        .clock(d_index$clock)
    );
    top$d_inbound d_inbound(
        .d(d_inbound$d),
        .q(d_inbound$q),
        .clock(d_inbound$clock)
    );
    top$d_nh d_nh(
        .d(d_nh$d),
        .q(d_nh$q),
        .clock(d_nh$clock)
    );
    top$d_seqhi d_seqhi(
        .d(d_seqhi$d),
        .q(d_seqhi$q),
        .clock(d_seqhi$clock)
    );
    top$d_len d_len(
        .d(d_len$d),
        .q(d_len$q),
        .clock(d_len$clock)
    );
    top$c_spi c_spi(
        .d(c_spi$d),
        .q(c_spi$q),
        .clock(c_spi$clock)
    );
    top$c_salt c_salt(
        .d(c_salt$d),
        .q(c_salt$q),
        .clock(c_salt$clock)
    );
    top$c_flags c_flags(
        .d(c_flags$d),
        .q(c_flags$q),
        .clock(c_flags$clock)
    );
    top$c_cnt c_cnt(
        .d(c_cnt$d),
        .q(c_cnt$q),
        .clock(c_cnt$clock)
    );
    top$seq_cur seq_cur(
        .d(seq_cur$d),
        .q(seq_cur$q),
        .clock(seq_cur$clock)
    );
    top$iv_pkt iv_pkt(
        .d(iv_pkt$d),
        .q(iv_pkt$q),
        .clock(iv_pkt$clock)
    );
    top$hkey hkey(
        .d(hkey$d),
        .q(hkey$q),
        .clock(hkey$clock)
    );
    top$dlen dlen(
        .d(dlen$d),
        .q(dlen$q),
        .clock(dlen$clock)
    );
    top$nblk nblk(
        .d(nblk$d),
        .q(nblk$q),
        .clock(nblk$clock)
    );
    top$tp tp(
        .d(tp$d),
        .q(tp$q),
        .clock(tp$clock)
    );
    top$iss iss(
        .d(iss$d),
        .q(iss$q),
        .clock(iss$clock)
    );
    top$cons cons(
        .d(cons$d),
        .q(cons$q),
        .clock(cons$clock)
    );
    top$got_j0 got_j0(
        .d(got_j0$d),
        .q(got_j0$q),
        .clock(got_j0$clock)
    );
    top$ej0 ej0(
        .d(ej0$d),
        .q(ej0$q),
        .clock(ej0$clock)
    );
    top$last_ct last_ct(
        .d(last_ct$d),
        .q(last_ct$q),
        .clock(last_ct$clock)
    );
    top$tag tag(
        .d(tag$d),
        .q(tag$q),
        .clock(tag$clock)
    );
    top$icv_lo icv_lo(
        .d(icv_lo$d),
        .q(icv_lo$q),
        .clock(icv_lo$clock)
    );
    top$padlen padlen(
        .d(padlen$d),
        .q(padlen$q),
        .clock(padlen$clock)
    );
    top$rx_nh rx_nh(
        .d(rx_nh$d),
        .q(rx_nh$q),
        .clock(rx_nh$clock)
    );
    top$verdict verdict(
        .d(verdict$d),
        .q(verdict$q),
        .clock(verdict$clock)
    );
    top$rlen rlen(
        .d(rlen$d),
        .q(rlen$q),
        .clock(rlen$clock)
    );
    top$rx_first rx_first(
        .d(rx_first$d),
        .q(rx_first$q),
        .clock(rx_first$clock)
    );
    top$rx_words rx_words(
        .d(rx_words$d),
        .q(rx_words$q),
        .clock(rx_words$clock)
    );
    top$rx_bytes rx_bytes(
        .d(rx_bytes$d),
        .q(rx_bytes$q),
        .clock(rx_bytes$clock)
    );
    top$tx_w tx_w(
        .d(tx_w$d),
        .q(tx_w$q),
        .clock(tx_w$clock)
    );
    
    // Update code
    always @(*) begin
        bvalid$clock = clock;
        rstate$clock = clock;
        raddr$clock = clock;
        rdata$clock = clock;
        hi_snap$clock = clock;
        scratch$clock = clock;
        err_events$clock = clock;
        sa_index$clock = clock;
        sa_spi$clock = clock;
        sa_salt$clock = clock;
        sa_flags$clock = clock;
        sa_seq$clock = clock;
        key0$clock = clock;
        key1$clock = clock;
        key2$clock = clock;
        key3$clock = clock;
        key4$clock = clock;
        key5$clock = clock;
        key6$clock = clock;
        key7$clock = clock;
        sa_op$clock = clock;
        cmd_pending$clock = clock;
        sa_done$clock = clock;
        sa_error$clock = clock;
        sa_valid$clock = clock;
        sa_errcode$clock = clock;
        rb_spi$clock = clock;
        rb_flags$clock = clock;
        rb_valid$clock = clock;
        rb_seq$clock = clock;
        rb_pkts$clock = clock;
        rb_bytes$clock = clock;
        rb_auth$clock = clock;
        pkt_desc$clock = clock;
        pkt_len$clock = clock;
        pkt_seqhi$clock = clock;
        db_pending$clock = clock;
        win_active$clock = clock;
        pkt_done$clock = clock;
        res_verdict$clock = clock;
        res_nh$clock = clock;
        res_len$clock = clock;
        res_seq$clock = clock;
        res_ok$clock = clock;
        cnt_out_pkts$clock = clock;
        cnt_out_bytes$clock = clock;
        cnt_in_pkts$clock = clock;
        cnt_in_bytes$clock = clock;
        cnt_auth$clock = clock;
        cnt_bad$clock = clock;
        phase$clock = clock;
        cur_idx$clock = clock;
        src_stream$clock = clock;
        d_index$clock = clock;
        d_inbound$clock = clock;
        d_nh$clock = clock;
        d_seqhi$clock = clock;
        d_len$clock = clock;
        c_spi$clock = clock;
        c_salt$clock = clock;
        c_flags$clock = clock;
        c_cnt$clock = clock;
        seq_cur$clock = clock;
        iv_pkt$clock = clock;
        hkey$clock = clock;
        dlen$clock = clock;
        nblk$clock = clock;
        tp$clock = clock;
        iss$clock = clock;
        cons$clock = clock;
        got_j0$clock = clock;
        ej0$clock = clock;
        last_ct$clock = clock;
        tag$clock = clock;
        icv_lo$clock = clock;
        padlen$clock = clock;
        rx_nh$clock = clock;
        verdict$clock = clock;
        rlen$clock = clock;
        rx_first$clock = clock;
        rx_words$clock = clock;
        rx_bytes$clock = clock;
        tx_w$clock = clock;
        bvalid$d = bvalid$q;
        rstate$d = rstate$q;
        raddr$d = raddr$q;
        rdata$d = rdata$q;
        hi_snap$d = hi_snap$q;
        scratch$d = scratch$q;
        err_events$d = err_events$q;
        sa_index$d = sa_index$q;
        sa_spi$d = sa_spi$q;
        sa_salt$d = sa_salt$q;
        sa_flags$d = sa_flags$q;
        sa_seq$d = sa_seq$q;
        key0$d = key0$q;
        key1$d = key1$q;
        key2$d = key2$q;
        key3$d = key3$q;
        key4$d = key4$q;
        key5$d = key5$q;
        key6$d = key6$q;
        key7$d = key7$q;
        sa_op$d = sa_op$q;
        cmd_pending$d = cmd_pending$q;
        sa_done$d = sa_done$q;
        sa_error$d = sa_error$q;
        sa_valid$d = sa_valid$q;
        sa_errcode$d = sa_errcode$q;
        rb_spi$d = rb_spi$q;
        rb_flags$d = rb_flags$q;
        rb_valid$d = rb_valid$q;
        rb_seq$d = rb_seq$q;
        rb_pkts$d = rb_pkts$q;
        rb_bytes$d = rb_bytes$q;
        rb_auth$d = rb_auth$q;
        pkt_desc$d = pkt_desc$q;
        pkt_len$d = pkt_len$q;
        pkt_seqhi$d = pkt_seqhi$q;
        db_pending$d = db_pending$q;
        win_active$d = win_active$q;
        pkt_done$d = pkt_done$q;
        res_verdict$d = res_verdict$q;
        res_nh$d = res_nh$q;
        res_len$d = res_len$q;
        res_seq$d = res_seq$q;
        res_ok$d = res_ok$q;
        cnt_out_pkts$d = cnt_out_pkts$q;
        cnt_out_bytes$d = cnt_out_bytes$q;
        cnt_in_pkts$d = cnt_in_pkts$q;
        cnt_in_bytes$d = cnt_in_bytes$q;
        cnt_auth$d = cnt_auth$q;
        cnt_bad$d = cnt_bad$q;
        phase$d = phase$q;
        cur_idx$d = cur_idx$q;
        src_stream$d = src_stream$q;
        d_index$d = d_index$q;
        d_inbound$d = d_inbound$q;
        d_nh$d = d_nh$q;
        d_seqhi$d = d_seqhi$q;
        d_len$d = d_len$q;
        c_spi$d = c_spi$q;
        c_salt$d = c_salt$q;
        c_flags$d = c_flags$q;
        c_cnt$d = c_cnt$q;
        seq_cur$d = seq_cur$q;
        iv_pkt$d = iv_pkt$q;
        hkey$d = hkey$q;
        dlen$d = dlen$q;
        nblk$d = nblk$q;
        tp$d = tp$q;
        iss$d = iss$q;
        cons$d = cons$q;
        got_j0$d = got_j0$q;
        ej0$d = ej0$q;
        last_ct$d = last_ct$q;
        tag$d = tag$q;
        icv_lo$d = icv_lo$q;
        padlen$d = padlen$q;
        rx_nh$d = rx_nh$q;
        verdict$d = verdict$q;
        rlen$d = rlen$q;
        rx_first$d = rx_first$q;
        rx_words$d = rx_words$q;
        rx_bytes$d = rx_bytes$q;
        tx_w$d = tx_w$q;
        aes$clock = clock;
        ghash$clock = clock;
        in_b0$read_clock = clock;
        in_b1$read_clock = clock;
        in_b2$read_clock = clock;
        in_b3$read_clock = clock;
        in_b0$write_clock = clock;
        in_b1$write_clock = clock;
        in_b2$write_clock = clock;
        in_b3$write_clock = clock;
        out_buf$read_clock = clock;
        out_buf$write_clock = clock;
        sa_key$read_clock = clock;
        sa_key$write_clock = clock;
        sa_hkey$read_clock = clock;
        sa_hkey$write_clock = clock;
        sa_ctx$read_clock = clock;
        sa_ctx$write_clock = clock;
        sa_cnt$read_clock = clock;
        sa_cnt$write_clock = clock;
        err_set = ((32'h0) & 5'h1f);
        err_clr = ((32'h0) & 5'h1f);
        in_b0$write_enable = 1'b0;
        in_b1$write_enable = 1'b0;
        in_b2$write_enable = 1'b0;
        in_b3$write_enable = 1'b0;
        in_b0$write_address = ((s_axil_awaddr >> 32'h4) & 10'h3ff);
        in_b1$write_address = ((s_axil_awaddr >> 32'h4) & 10'h3ff);
        in_b2$write_address = ((s_axil_awaddr >> 32'h4) & 10'h3ff);
        in_b3$write_address = ((s_axil_awaddr >> 32'h4) & 10'h3ff);
        in_b0$write_data = s_axil_wdata;
        in_b1$write_data = s_axil_wdata;
        in_b2$write_data = s_axil_wdata;
        in_b3$write_data = s_axil_wdata;
        out_buf$write_enable = 1'b0;
        out_buf$write_address = ((32'h0) & 10'h3ff);
        out_buf$write_data = ((32'h0) & 128'hffffffffffffffffffffffffffffffff);
        sa_key$write_enable = 1'b0;
        sa_hkey$write_enable = 1'b0;
        sa_ctx$write_enable = 1'b0;
        sa_cnt$write_enable = 1'b0;
        sa_key$write_address = cur_idx$q;
        sa_hkey$write_address = cur_idx$q;
        sa_ctx$write_address = cur_idx$q;
        sa_cnt$write_address = cur_idx$q;
        sa_key$write_data = ((32'h0) & 256'hffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff);
        sa_hkey$write_data = ((32'h0) & 128'hffffffffffffffffffffffffffffffff);
        sa_ctx$write_data = ((32'h0) & 136'hffffffffffffffffffffffffffffffffff);
        sa_cnt$write_data = ((32'h0) & 160'hffffffffffffffffffffffffffffffffffffffff);
        sa_key$read_address = cur_idx$q;
        sa_hkey$read_address = cur_idx$q;
        sa_ctx$read_address = cur_idx$q;
        sa_cnt$read_address = cur_idx$q;
        aes$key_load = 1'b0;
        aes$in_valid = 1'b0;
        ghash$clear = 1'b0;
        ghash$in_valid = 1'b0;
        ghash$h = hkey$q;
        s_axis_tready = 1'b0;
        m_axis_tvalid = 1'b0;
        m_axis_tdata = ((32'h0) & 128'hffffffffffffffffffffffffffffffff);
        m_axis_tkeep = ((32'h0) & 16'hffff);
        m_axis_tlast = 1'b0;
        in_rd = ((32'h0) & 16'hffff);
        out_rd = ((raddr$q >> 32'h4) & 16'hffff);
        consume = 1'b0;
        icv_shift = (d_len$q - 32'h10) & 32'hf;
        pad_p = dlen$q - d_len$q - 32'h2;
        pad_len_calc = ((padlen$q) & 16'hffff) + 32'h2;
        din = ((in_b0$read_data) & 128'hffffffffffffffffffffffffffffffff) | (((in_b1$read_data) & 128'hffffffffffffffffffffffffffffffff) << 32'h20) | (((in_b2$read_data) & 128'hffffffffffffffffffffffffffffffff) << 32'h40) | (((in_b3$read_data) & 128'hffffffffffffffffffffffffffffffff) << 32'h60);
        keep_cnt$keep = s_axis_tkeep;
        ctx_rd = sa_ctx$read_data;
        ctx_sh_valid = ctx_rd >> s_ctx_valid;
        ctx_sh_flags = ctx_rd >> s_ctx_flags;
        ctx_sh_seq = ctx_rd >> s_ctx_seq;
        ctx_sh_salt = ctx_rd >> s_ctx_salt;
        ctx_valid = ctx_sh_valid[32'h0];
        ctx_flags = ctx_sh_flags[(32'h0)+:(4)];
        ctx_seq = ctx_sh_seq[(32'h0)+:(64)];
        cnt_sh_bytes = c_cnt$q >> s_cnt_bytes;
        cnt_sh_auth = c_cnt$q >> s_cnt_auth;
        rdc_sh_bytes = sa_cnt$read_data >> s_cnt_bytes;
        rdc_sh_auth = sa_cnt$read_data >> s_cnt_auth;
        ctx_new = ((sa_spi$q) & 136'hffffffffffffffffffffffffffffffffff) | (((sa_salt$q) & 136'hffffffffffffffffffffffffffffffffff) << s_ctx_salt) | (((sa_seq$q) & 136'hffffffffffffffffffffffffffffffffff) << s_ctx_seq) | (((sa_flags$q) & 136'hffffffffffffffffffffffffffffffffff) << s_ctx_flags) | (((32'h1) & 136'hffffffffffffffffffffffffffffffffff) << s_ctx_valid);
        if ((phase$q == Phase$CmdCheck) | (phase$q == Phase$CmdKey) | (phase$q == Phase$CmdHash)) begin
            key_le = ((key0$q) & 256'hffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff) | (((key1$q) & 256'hffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff) << 32'h20) | (((key2$q) & 256'hffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff) << 32'h40) | (((key3$q) & 256'hffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff) << 32'h60);
            if (sa_flags$q[32'h0]) begin
                key_le = key_le | (((key4$q) & 256'hffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff) << 32'h80) | (((key5$q) & 256'hffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff) << 32'ha0) | (((key6$q) & 256'hffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff) << 32'hc0) | (((key7$q) & 256'hffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff) << 32'he0);
            end
            aes$aes256 = sa_flags$q[32'h0];
        end
        else begin
            key_le = sa_key$read_data;
            aes$aes256 = ctx_flags[32'h0];
        end
        bs_k0$din = key_le[(32'h0)+:(128)];
        bs_k1$din = key_le[(32'h80)+:(128)];
        aes$key = (((bs_k0$dout) & 256'hffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff) << 32'h80) | ((bs_k1$dout) & 256'hffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff);
        bs_din_spi$din = din[(32'h0)+:(32)];
        bs_din_slo$din = din[(32'h20)+:(32)];
        bs_spi$din = c_spi$q;
        bs_slo$din = seq_cur$q[(32'h0)+:(32)];
        bs_shi$din = seq_cur$q[(32'h20)+:(32)];
        bs_seq64$din = seq_cur$q;
        if (d_inbound$q) begin
            iv_le = iv_pkt$q;
        end
        else begin
            iv_le = bs_seq64$dout;
        end
        if (phase$q == Phase$PktKey) begin
            bs_ctr$din = ((32'h1) & 32'hffffffff);
        end
        else begin
            bs_ctr$din = ((iss$q) & 32'hffffffff) + 32'h2;
        end
        nonce_le = ((c_salt$q) & 128'hffffffffffffffffffffffffffffffff) | (((iv_le) & 128'hffffffffffffffffffffffffffffffff) << 32'h20) | (((bs_ctr$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h60);
        bs_nonce$din = nonce_le;
        if ((phase$q == Phase$CmdKey) | (phase$q == Phase$CmdHash)) begin
            aes$in_block = ((32'h0) & 128'hffffffffffffffffffffffffffffffff);
        end
        else begin
            aes$in_block = bs_nonce$dout;
        end
        if (c_flags$q[32'h1]) begin
            aad_le = ((bs_spi$dout) & 128'hffffffffffffffffffffffffffffffff) | (((bs_slo$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h20) | (((iv_le) & 128'hffffffffffffffffffffffffffffffff) << 32'h40);
        end
        else if (c_flags$q[32'h2]) begin
            aad_le = ((bs_spi$dout) & 128'hffffffffffffffffffffffffffffffff) | (((bs_shi$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h20) | (((bs_slo$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h40);
        end
        else begin
            aad_le = ((bs_spi$dout) & 128'hffffffffffffffffffffffffffffffff) | (((bs_slo$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h20);
        end
        if (c_flags$q[32'h1]) begin
            bs_la$din = (((dlen$q) & 64'hffffffffffffffff) + 32'h10) << 32'h3;
            bs_lc$din = ((32'h0) & 64'hffffffffffffffff);
        end
        else begin
            if (c_flags$q[32'h2]) begin
                bs_la$din = ((32'h60) & 64'hffffffffffffffff);
            end
            else begin
                bs_la$din = ((32'h40) & 64'hffffffffffffffff);
            end
            bs_lc$din = ((dlen$q) & 64'hffffffffffffffff) << 32'h3;
        end
        k16 = cons$q << 32'h4;
        m_valid$count = dlen$q - k16;
        if (d_len$q > k16) begin
            m_in$count = d_len$q - k16;
        end
        else begin
            m_in$count = ((32'h0) & 16'hffff);
        end
        trail = ((32'h0) & 128'hffffffffffffffffffffffffffffffff);
        if (d_len$q >= k16) begin
            if ((d_len$q - k16) < 32'h10) begin
                trail = ((tp$q) & 128'hffffffffffffffffffffffffffffffff) << ((d_len$q - k16) << 32'h3);
            end
        end
        else if ((k16 - d_len$q) < 32'h8) begin
            trail = ((tp$q) & 128'hffffffffffffffffffffffffffffffff) >> ((k16 - d_len$q) << 32'h3);
        end
        bs_ks$din = aes$out_block;
        if (c_flags$q[32'h1]) begin
            ks = ((32'h0) & 128'hffffffffffffffffffffffffffffffff);
        end
        else begin
            ks = bs_ks$dout & m_valid$mask;
        end
        if (d_inbound$q) begin
            ct = din & m_valid$mask;
            pt = ct ^ ks;
        end
        else begin
            pt = (din & m_in$mask) | trail;
            ct = pt ^ ks;
        end
        pt_sh_pad = pt >> (((dlen$q - 32'h2) & 32'hf) << 32'h3);
        pt_sh_nh = pt >> (((dlen$q - 32'h1) & 32'hf) << 32'h3);
        if (phase$q == Phase$PktKey) begin
            bs_gh$din = aad_le;
        end
        else if (phase$q == Phase$PktLen) begin
            bs_gh$din = ((bs_la$dout) & 128'hffffffffffffffffffffffffffffffff) | (((bs_lc$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h40);
        end
        else begin
            bs_gh$din = ct;
        end
        ghash$in_block = bs_gh$dout;
        bs_tag$din = ghash$y ^ ej0$q;
        if (icv_shift == 32'h0) begin
            icv = icv_lo$q;
        end
        else begin
            icv = (icv_lo$q >> (icv_shift << 32'h3)) | (din << ((((32'h10) & 16'hffff) - icv_shift) << 32'h3));
        end
        tx_keep$count = rlen$q - (tx_w$q << 32'h4);
        wr_fire = s_axil_awvalid & s_axil_wvalid & ~bvalid$q & (phase$q != Phase$Rx);
        s_axil_awready = wr_fire;
        s_axil_wready = wr_fire;
        s_axil_bvalid = bvalid$q;
        s_axil_bresp = ((32'h0) & 2'h3);
        if (bvalid$q & s_axil_bready) begin
            bvalid$d = 1'b0;
        end
        if (wr_fire) begin
            bvalid$d = 1'b1;
            if (s_axil_awaddr == o_scratch) begin
                scratch$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_error_events) begin
                err_clr = s_axil_wdata[(32'h0)+:(5)];
            end
            if (s_axil_awaddr == o_sa_index) begin
                sa_index$d = s_axil_wdata[(32'h0)+:(16)];
            end
            if (s_axil_awaddr == o_sa_spi) begin
                sa_spi$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_sa_salt) begin
                sa_salt$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_sa_flags) begin
                sa_flags$d = s_axil_wdata[(32'h0)+:(4)];
            end
            if (s_axil_awaddr == o_sa_seq_lo) begin
                sa_seq$d = (sa_seq$q & k_hi32) | ((s_axil_wdata) & 64'hffffffffffffffff);
            end
            if (s_axil_awaddr == o_sa_seq_hi) begin
                sa_seq$d = (sa_seq$q & k_lo32) | (((s_axil_wdata) & 64'hffffffffffffffff) << 32'h20);
            end
            if (s_axil_awaddr == o_sa_key0) begin
                key0$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_sa_key1) begin
                key1$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_sa_key2) begin
                key2$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_sa_key3) begin
                key3$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_sa_key4) begin
                key4$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_sa_key5) begin
                key5$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_sa_key6) begin
                key6$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_sa_key7) begin
                key7$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_sa_cmd) begin
                if (cmd_pending$q) begin
                    err_set = ((32'h8) & 5'h1f);
                end
                else begin
                    sa_op$d = s_axil_wdata[(32'h0)+:(4)];
                    cmd_pending$d = 1'b1;
                    sa_done$d = 1'b0;
                    sa_error$d = 1'b0;
                end
            end
            if (s_axil_awaddr == o_pkt_desc) begin
                pkt_desc$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_pkt_len) begin
                pkt_len$d = s_axil_wdata[(32'h0)+:(16)];
            end
            if (s_axil_awaddr == o_pkt_seq_hi) begin
                pkt_seqhi$d = s_axil_wdata;
            end
            if (s_axil_awaddr == o_pkt_doorbell) begin
                if (db_pending$q | win_active$q) begin
                    err_set = ((32'h8) & 5'h1f);
                end
                else if (s_axil_wdata[32'h0]) begin
                    db_pending$d = 1'b1;
                    pkt_done$d = 1'b0;
                    res_ok$d = 1'b0;
                end
            end
            if ((s_axil_awaddr & o_out_window) == o_in_window) begin
                if (s_axil_awaddr[(32'h2)+:(2)] == 32'h0) begin
                    in_b0$write_enable = 1'b1;
                end
                if (s_axil_awaddr[(32'h2)+:(2)] == 32'h1) begin
                    in_b1$write_enable = 1'b1;
                end
                if (s_axil_awaddr[(32'h2)+:(2)] == 32'h2) begin
                    in_b2$write_enable = 1'b1;
                end
                if (s_axil_awaddr[(32'h2)+:(2)] == 32'h3) begin
                    in_b3$write_enable = 1'b1;
                end
            end
        end
        s_axil_arready = rstate$q == 32'h0;
        s_axil_rvalid = rstate$q == 32'h3;
        s_axil_rdata = rdata$q;
        s_axil_rresp = ((32'h0) & 2'h3);
        pkt_busy = db_pending$q | ((phase$q != Phase$Idle) & (phase$q != Phase$CmdLoad) & (phase$q != Phase$CmdCheck) & (phase$q != Phase$CmdKey) & (phase$q != Phase$CmdHash) & (phase$q != Phase$CmdDone));
        w_status = ((32'h0) & 32'hffffffff);
        if (cmd_pending$q) begin
            w_status = w_status | 32'h1;
        end
        if (pkt_busy) begin
            w_status = w_status | 32'h2;
        end
        w_sa_status = ((sa_errcode$q) & 32'hffffffff) << 32'h8;
        if (cmd_pending$q) begin
            w_sa_status = w_sa_status | 32'h1;
        end
        if (sa_done$q) begin
            w_sa_status = w_sa_status | 32'h2;
        end
        if (sa_error$q) begin
            w_sa_status = w_sa_status | 32'h4;
        end
        if (sa_valid$q) begin
            w_sa_status = w_sa_status | 32'h8;
        end
        w_rb_flags = ((rb_flags$q) & 32'hffffffff);
        if (rb_valid$q) begin
            w_rb_flags = w_rb_flags | k_bit31;
        end
        w_pkt_status = (((res_verdict$q) & 32'hffffffff) << 32'h8) | (((res_nh$q) & 32'hffffffff) << 32'h10);
        if (db_pending$q | win_active$q) begin
            w_pkt_status = w_pkt_status | 32'h1;
        end
        else if (pkt_busy) begin
            w_pkt_status = w_pkt_status | 32'h4;
        end
        if (pkt_done$q) begin
            w_pkt_status = w_pkt_status | 32'h2;
        end
        rd_value = ((32'h0) & 32'hffffffff);
        rd_snap = 1'b0;
        rd_snap_value = ((32'h0) & 32'hffffffff);
        if (raddr$q == o_id_magic) begin
            rd_value = k_magic;
        end
        if (raddr$q == o_id_version) begin
            rd_value = k_version;
        end
        if (raddr$q == o_id_caps) begin
            rd_value = k_caps;
        end
        if (raddr$q == o_id_num_sas) begin
            rd_value = k_num_sas;
        end
        if (raddr$q == o_id_datapath) begin
            rd_value = k_datapath;
        end
        if (raddr$q == o_id_max_packet) begin
            rd_value = ((k_max_packet) & 32'hffffffff);
        end
        if (raddr$q == o_scratch) begin
            rd_value = scratch$q;
        end
        if (raddr$q == o_status) begin
            rd_value = w_status;
        end
        if (raddr$q == o_error_events) begin
            rd_value = ((err_events$q) & 32'hffffffff);
        end
        if (raddr$q == o_sa_index) begin
            rd_value = ((sa_index$q) & 32'hffffffff);
        end
        if (raddr$q == o_sa_spi) begin
            rd_value = sa_spi$q;
        end
        if (raddr$q == o_sa_flags) begin
            rd_value = ((sa_flags$q) & 32'hffffffff);
        end
        if (raddr$q == o_sa_seq_lo) begin
            rd_value = sa_seq$q[(32'h0)+:(32)];
        end
        if (raddr$q == o_sa_seq_hi) begin
            rd_value = sa_seq$q[(32'h20)+:(32)];
        end
        if (raddr$q == o_sa_cmd_status) begin
            rd_value = w_sa_status;
        end
        if (raddr$q == o_rb_spi) begin
            rd_value = rb_spi$q;
        end
        if (raddr$q == o_rb_flags) begin
            rd_value = w_rb_flags;
        end
        if (raddr$q == o_rb_seq_lo) begin
            rd_value = rb_seq$q[(32'h0)+:(32)];
        end
        if (raddr$q == o_rb_seq_hi) begin
            rd_value = rb_seq$q[(32'h20)+:(32)];
        end
        if (raddr$q == o_rb_pkts_lo) begin
            rd_value = rb_pkts$q[(32'h0)+:(32)];
            rd_snap = 1'b1;
            rd_snap_value = rb_pkts$q[(32'h20)+:(32)];
        end
        if (raddr$q == o_rb_bytes_lo) begin
            rd_value = rb_bytes$q[(32'h0)+:(32)];
            rd_snap = 1'b1;
            rd_snap_value = rb_bytes$q[(32'h20)+:(32)];
        end
        if ((raddr$q == o_rb_pkts_hi) | (raddr$q == o_rb_bytes_hi) | (raddr$q == o_cnt_out_pkts_hi) | (raddr$q == o_cnt_out_bytes_hi) | (raddr$q == o_cnt_in_pkts_hi) | (raddr$q == o_cnt_in_bytes_hi) | (raddr$q == o_cnt_auth_hi) | (raddr$q == o_cnt_bad_hi)) begin
            rd_value = hi_snap$q;
        end
        if (raddr$q == o_rb_auth) begin
            rd_value = rb_auth$q;
        end
        if (raddr$q == o_pkt_desc) begin
            rd_value = pkt_desc$q;
        end
        if (raddr$q == o_pkt_len) begin
            rd_value = ((pkt_len$q) & 32'hffffffff);
        end
        if (raddr$q == o_pkt_seq_hi) begin
            rd_value = pkt_seqhi$q;
        end
        if (raddr$q == o_pkt_status) begin
            rd_value = w_pkt_status;
        end
        if (raddr$q == o_res_len) begin
            rd_value = ((res_len$q) & 32'hffffffff);
        end
        if (raddr$q == o_res_seq_lo) begin
            rd_value = res_seq$q[(32'h0)+:(32)];
        end
        if (raddr$q == o_res_seq_hi) begin
            rd_value = res_seq$q[(32'h20)+:(32)];
        end
        if (raddr$q == o_cnt_out_pkts_lo) begin
            rd_value = cnt_out_pkts$q[(32'h0)+:(32)];
            rd_snap = 1'b1;
            rd_snap_value = cnt_out_pkts$q[(32'h20)+:(32)];
        end
        if (raddr$q == o_cnt_out_bytes_lo) begin
            rd_value = cnt_out_bytes$q[(32'h0)+:(32)];
            rd_snap = 1'b1;
            rd_snap_value = cnt_out_bytes$q[(32'h20)+:(32)];
        end
        if (raddr$q == o_cnt_in_pkts_lo) begin
            rd_value = cnt_in_pkts$q[(32'h0)+:(32)];
            rd_snap = 1'b1;
            rd_snap_value = cnt_in_pkts$q[(32'h20)+:(32)];
        end
        if (raddr$q == o_cnt_in_bytes_lo) begin
            rd_value = cnt_in_bytes$q[(32'h0)+:(32)];
            rd_snap = 1'b1;
            rd_snap_value = cnt_in_bytes$q[(32'h20)+:(32)];
        end
        if (raddr$q == o_cnt_auth_lo) begin
            rd_value = cnt_auth$q[(32'h0)+:(32)];
            rd_snap = 1'b1;
            rd_snap_value = cnt_auth$q[(32'h20)+:(32)];
        end
        if (raddr$q == o_cnt_bad_lo) begin
            rd_value = cnt_bad$q[(32'h0)+:(32)];
            rd_snap = 1'b1;
            rd_snap_value = cnt_bad$q[(32'h20)+:(32)];
        end
        if (((raddr$q & o_out_window) == o_out_window) & res_ok$q) begin
            if (raddr$q[(32'h2)+:(2)] == 32'h0) begin
                rd_value = out_buf$read_data[(32'h0)+:(32)];
            end
            if (raddr$q[(32'h2)+:(2)] == 32'h1) begin
                rd_value = out_buf$read_data[(32'h20)+:(32)];
            end
            if (raddr$q[(32'h2)+:(2)] == 32'h2) begin
                rd_value = out_buf$read_data[(32'h40)+:(32)];
            end
            if (raddr$q[(32'h2)+:(2)] == 32'h3) begin
                rd_value = out_buf$read_data[(32'h60)+:(32)];
            end
        end
        if (rstate$q == 32'h0) begin
            if (s_axil_arvalid) begin
                raddr$d = s_axil_araddr;
                rstate$d = ((32'h1) & 2'h3);
            end
        end
        else if (rstate$q == 32'h1) begin
            rstate$d = ((32'h2) & 2'h3);
        end
        else if (rstate$q == 32'h2) begin
            rdata$d = rd_value;
            if (rd_snap) begin
                hi_snap$d = rd_snap_value;
            end
            rstate$d = ((32'h3) & 2'h3);
        end
        else if (s_axil_rready) begin
            rstate$d = ((32'h0) & 2'h3);
        end
        case (phase$q)
            Phase$Idle:
                begin
                    if (cmd_pending$q) begin
                        cur_idx$d = ((sa_index$q) & 10'h3ff);
                        phase$d = Phase$CmdLoad;
                    end
                    else if (db_pending$q) begin
                        db_pending$d = 1'b0;
                        win_active$d = 1'b1;
                        src_stream$d = 1'b0;
                        d_index$d = pkt_desc$q[(32'h0)+:(16)];
                        cur_idx$d = pkt_desc$q[(32'h0)+:(10)];
                        d_inbound$d = pkt_desc$q[32'h10];
                        d_nh$d = pkt_desc$q[(32'h18)+:(8)];
                        d_seqhi$d = pkt_seqhi$q;
                        d_len$d = pkt_len$q;
                        phase$d = Phase$PktLoad;
                    end
                    else if (s_axis_tvalid) begin
                        rx_first$d = 1'b1;
                        rx_words$d = ((32'h0) & 16'hffff);
                        rx_bytes$d = ((32'h0) & 16'hffff);
                        phase$d = Phase$Rx;
                    end
                end
            Phase$Rx:
                begin
                    s_axis_tready = 1'b1;
                    in_b0$write_address = ((rx_words$q) & 10'h3ff);
                    in_b1$write_address = ((rx_words$q) & 10'h3ff);
                    in_b2$write_address = ((rx_words$q) & 10'h3ff);
                    in_b3$write_address = ((rx_words$q) & 10'h3ff);
                    in_b0$write_data = s_axis_tdata[(32'h0)+:(32)];
                    in_b1$write_data = s_axis_tdata[(32'h20)+:(32)];
                    in_b2$write_data = s_axis_tdata[(32'h40)+:(32)];
                    in_b3$write_data = s_axis_tdata[(32'h60)+:(32)];
                    if (s_axis_tvalid) begin
                        if (rx_first$q) begin
                            rx_first$d = 1'b0;
                            d_index$d = s_axis_tuser[(32'h0)+:(16)];
                            cur_idx$d = s_axis_tuser[(32'h0)+:(10)];
                            d_inbound$d = s_axis_tuser[32'h10];
                            d_nh$d = s_axis_tuser[(32'h18)+:(8)];
                            d_seqhi$d = s_axis_tuser[(32'h20)+:(32)];
                        end
                        if (rx_words$q < k_buf_words) begin
                            in_b0$write_enable = 1'b1;
                            in_b1$write_enable = 1'b1;
                            in_b2$write_enable = 1'b1;
                            in_b3$write_enable = 1'b1;
                            rx_words$d = rx_words$q + 32'h1;
                            rx_bytes$d = rx_bytes$q + keep_cnt$count;
                        end
                        else begin
                            rx_bytes$d = ((32'hffff) & 16'hffff);
                        end
                        if (s_axis_tlast) begin
                            if (rx_words$q < k_buf_words) begin
                                d_len$d = rx_bytes$q + keep_cnt$count;
                            end
                            else begin
                                d_len$d = ((32'hffff) & 16'hffff);
                            end
                            src_stream$d = 1'b1;
                            phase$d = Phase$PktLoad;
                        end
                    end
                end
            Phase$PktLoad:
                begin
                    phase$d = Phase$PktCheck;
                end
            Phase$PktCheck:
                begin
                    ghash$clear = 1'b1;
                    c_spi$d = ctx_rd[(32'h0)+:(32)];
                    c_salt$d = ctx_sh_salt[(32'h0)+:(32)];
                    c_flags$d = ctx_flags;
                    c_cnt$d = sa_cnt$read_data;
                    hkey$d = sa_hkey$read_data;
                    iv_pkt$d = din[(32'h40)+:(64)];
                    got_j0$d = 1'b0;
                    iss$d = ((32'h0) & 16'hffff);
                    cons$d = ((32'h0) & 16'hffff);
                    rlen$d = ((32'h0) & 16'hffff);
                    rx_nh$d = d_nh$q;
                    if (d_inbound$q) begin
                        dlen$d = d_len$q - 32'h20;
                        nblk$d = (d_len$q - 32'h20 + 32'hf) >> 32'h4;
                        if (ctx_flags[32'h2]) begin
                            seq_cur$d = (((d_seqhi$q) & 64'hffffffffffffffff) << 32'h20) | ((bs_din_slo$dout) & 64'hffffffffffffffff);
                        end
                        else begin
                            seq_cur$d = ((bs_din_slo$dout) & 64'hffffffffffffffff);
                        end
                    end
                    else begin
                        dlen$d = ((d_len$q + 32'h5) >> 32'h2) << 32'h2;
                        nblk$d = (((d_len$q + 32'h5) >> 32'h2) + 32'h3) >> 32'h2;
                        seq_cur$d = ctx_seq + 32'h1;
                    end
                    if (|d_index$q[(32'ha)+:(6)] | ~ctx_valid) begin
                        verdict$d = v_bad_sa;
                        phase$d = Phase$PktFinish;
                    end
                    else if (ctx_flags[32'h3] != d_inbound$q) begin
                        verdict$d = v_dir;
                        phase$d = Phase$PktFinish;
                    end
                    else if ((d_len$q > k_max_packet) | (d_inbound$q & ((d_len$q < k_min_inbound) | |d_len$q[(32'h0)+:(2)]))) begin
                        verdict$d = v_len;
                        phase$d = Phase$PktFinish;
                    end
                    else if (d_inbound$q & (bs_din_spi$dout != ctx_rd[(32'h0)+:(32)])) begin
                        verdict$d = v_spi;
                        phase$d = Phase$PktFinish;
                    end
                    else if (~d_inbound$q & ((ctx_flags[32'h2] & &ctx_seq) | (~ctx_flags[32'h2] & (ctx_seq >= k_seq32_max)))) begin
                        verdict$d = v_seq;
                        phase$d = Phase$PktFinish;
                    end
                    else begin
                        verdict$d = v_ok;
                        aes$key_load = 1'b1;
                        phase$d = Phase$PktKey;
                    end
                end
            Phase$PktKey:
                begin
                    tp$d = (((32'h30201) & 64'hffffffffffffffff) & ((((32'h1) & 64'hffffffffffffffff) << (((pad_p) & 64'hffffffffffffffff) << 32'h3)) - 32'h1)) | (((pad_p) & 64'hffffffffffffffff) << (((pad_p) & 64'hffffffffffffffff) << 32'h3)) | (((d_nh$q) & 64'hffffffffffffffff) << ((((pad_p) & 64'hffffffffffffffff) + 32'h1) << 32'h3));
                    if (~d_inbound$q) begin
                        out_buf$write_enable = 1'b1;
                        out_buf$write_address = ((32'h0) & 10'h3ff);
                        out_buf$write_data = ((bs_spi$dout) & 128'hffffffffffffffffffffffffffffffff) | (((bs_slo$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h20) | (((iv_le) & 128'hffffffffffffffffffffffffffffffff) << 32'h40);
                    end
                    if (aes$key_ready) begin
                        aes$in_valid = 1'b1;
                        ghash$in_valid = 1'b1;
                        phase$d = Phase$PktRun;
                    end
                end
            Phase$PktRun:
                begin
                    if (iss$q < nblk$q) begin
                        aes$in_valid = 1'b1;
                        iss$d = iss$q + 32'h1;
                    end
                    if (aes$out_valid) begin
                        if (~got_j0$q) begin
                            got_j0$d = 1'b1;
                            ej0$d = aes$out_block;
                        end
                        else begin
                            consume = 1'b1;
                        end
                    end
                    if (consume) begin
                        in_rd = cons$q + 32'h1;
                    end
                    else begin
                        in_rd = cons$q;
                    end
                    if (d_inbound$q) begin
                        in_rd = in_rd + 32'h1;
                    end
                    if (consume) begin
                        ghash$in_valid = 1'b1;
                        cons$d = cons$q + 32'h1;
                        last_ct$d = ct;
                        out_buf$write_enable = 1'b1;
                        if (d_inbound$q) begin
                            out_buf$write_address = ((cons$q) & 10'h3ff);
                            out_buf$write_data = pt;
                            if (cons$q == ((dlen$q - 32'h1) >> 32'h4)) begin
                                padlen$d = pt_sh_pad[(32'h0)+:(8)];
                                rx_nh$d = pt_sh_nh[(32'h0)+:(8)];
                            end
                        end
                        else begin
                            out_buf$write_address = ((cons$q + 32'h1) & 10'h3ff);
                            out_buf$write_data = ct;
                        end
                        if (cons$q + 32'h1 == nblk$q) begin
                            phase$d = Phase$PktLen;
                        end
                    end
                end
            Phase$PktLen:
                begin
                    ghash$in_valid = 1'b1;
                    phase$d = Phase$PktTag;
                end
            Phase$PktTag:
                begin
                    if (ghash$idle) begin
                        tag$d = bs_tag$dout;
                        if (d_inbound$q) begin
                            phase$d = Phase$PktIcv0;
                        end
                        else begin
                            phase$d = Phase$PktTagOut1;
                        end
                    end
                end
            Phase$PktIcv0:
                begin
                    in_rd = (d_len$q - 32'h10) >> 32'h4;
                    phase$d = Phase$PktIcv1;
                end
            Phase$PktIcv1:
                begin
                    in_rd = ((d_len$q - 32'h10) >> 32'h4) + 32'h1;
                    icv_lo$d = din;
                    phase$d = Phase$PktIcv2;
                end
            Phase$PktIcv2:
                begin
                    if (icv != tag$q) begin
                        verdict$d = v_auth;
                    end
                    else if (pad_len_calc > dlen$q) begin
                        verdict$d = v_trailer;
                    end
                    else begin
                        rlen$d = dlen$q - pad_len_calc;
                    end
                    phase$d = Phase$PktFinish;
                end
            Phase$PktTagOut1:
                begin
                    out_buf$write_enable = 1'b1;
                    rlen$d = dlen$q + 32'h20;
                    if (|dlen$q[(32'h0)+:(4)]) begin
                        out_buf$write_address = ((nblk$q) & 10'h3ff);
                        out_buf$write_data = last_ct$q | (tag$q << (((dlen$q[(32'h0)+:(4)]) & 16'hffff) << 32'h3));
                        phase$d = Phase$PktTagOut2;
                    end
                    else begin
                        out_buf$write_address = ((nblk$q + 32'h1) & 10'h3ff);
                        out_buf$write_data = tag$q;
                        phase$d = Phase$PktFinish;
                    end
                end
            Phase$PktTagOut2:
                begin
                    out_buf$write_enable = 1'b1;
                    out_buf$write_address = ((nblk$q + 32'h1) & 10'h3ff);
                    out_buf$write_data = tag$q >> ((((32'h10) & 16'hffff) - ((dlen$q[(32'h0)+:(4)]) & 16'hffff)) << 32'h3);
                    phase$d = Phase$PktFinish;
                end
            Phase$PktFinish:
                begin
                    if (verdict$q == v_ok) begin
                        if (d_inbound$q) begin
                            cnt_in_pkts$d = cnt_in_pkts$q + 32'h1;
                            cnt_in_bytes$d = cnt_in_bytes$q + ((d_len$q) & 64'hffffffffffffffff);
                        end
                        else begin
                            cnt_out_pkts$d = cnt_out_pkts$q + 32'h1;
                            cnt_out_bytes$d = cnt_out_bytes$q + ((d_len$q) & 64'hffffffffffffffff);
                            sa_ctx$write_enable = 1'b1;
                            sa_ctx$write_data = ((c_spi$q) & 136'hffffffffffffffffffffffffffffffffff) | (((c_salt$q) & 136'hffffffffffffffffffffffffffffffffff) << s_ctx_salt) | (((seq_cur$q) & 136'hffffffffffffffffffffffffffffffffff) << s_ctx_seq) | (((c_flags$q) & 136'hffffffffffffffffffffffffffffffffff) << s_ctx_flags) | (((32'h1) & 136'hffffffffffffffffffffffffffffffffff) << s_ctx_valid);
                        end
                        sa_cnt$write_enable = 1'b1;
                        sa_cnt$write_data = (c_cnt$q & k_cnt_auth_mask) | ((c_cnt$q[(32'h0)+:(64)] + 32'h1) & 160'hffffffffffffffffffffffffffffffffffffffff) | (((cnt_sh_bytes[(32'h0)+:(64)] + ((d_len$q) & 64'hffffffffffffffff)) & 160'hffffffffffffffffffffffffffffffffffffffff) << s_cnt_bytes);
                    end
                    else if (verdict$q == v_auth) begin
                        cnt_auth$d = cnt_auth$q + 32'h1;
                        err_set = ((32'h2) & 5'h1f);
                        if (~&cnt_sh_auth[(32'h0)+:(32)]) begin
                            sa_cnt$write_enable = 1'b1;
                            sa_cnt$write_data = c_cnt$q + (((32'h1) & 160'hffffffffffffffffffffffffffffffffffffffff) << s_cnt_auth);
                        end
                    end
                    else if (verdict$q == v_seq) begin
                        err_set = ((32'h10) & 5'h1f);
                    end
                    else if (verdict$q != v_trailer) begin
                        cnt_bad$d = cnt_bad$q + 32'h1;
                        err_set = ((32'h1) & 5'h1f);
                    end
                    if (verdict$q != v_ok) begin
                        rlen$d = ((32'h0) & 16'hffff);
                    end
                    if (src_stream$q) begin
                        phase$d = Phase$TxPrime;
                    end
                    else begin
                        win_active$d = 1'b0;
                        pkt_done$d = 1'b1;
                        res_verdict$d = verdict$q;
                        res_nh$d = rx_nh$q;
                        res_seq$d = seq_cur$q;
                        if (verdict$q == v_ok) begin
                            res_len$d = rlen$q;
                            res_ok$d = 1'b1;
                        end
                        else begin
                            res_len$d = ((32'h0) & 16'hffff);
                            res_ok$d = 1'b0;
                        end
                        phase$d = Phase$Idle;
                    end
                end
            Phase$TxPrime:
                begin
                    tx_w$d = ((32'h0) & 16'hffff);
                    out_rd = ((32'h0) & 16'hffff);
                    phase$d = Phase$Tx;
                end
            Phase$Tx:
                begin
                    m_axis_tvalid = 1'b1;
                    if (rlen$q == 32'h0) begin
                        m_axis_tlast = 1'b1;
                        out_rd = tx_w$q;
                        if (m_axis_tready) begin
                            phase$d = Phase$Idle;
                        end
                    end
                    else begin
                        m_axis_tdata = out_buf$read_data;
                        m_axis_tkeep = tx_keep$keep;
                        m_axis_tlast = tx_w$q == ((rlen$q - 32'h1) >> 32'h4);
                        if (m_axis_tready) begin
                            out_rd = tx_w$q + 32'h1;
                            tx_w$d = tx_w$q + 32'h1;
                            if (tx_w$q == ((rlen$q - 32'h1) >> 32'h4)) begin
                                phase$d = Phase$Idle;
                            end
                        end
                        else begin
                            out_rd = tx_w$q;
                        end
                    end
                end
            Phase$CmdLoad:
                begin
                    phase$d = Phase$CmdCheck;
                end
            Phase$CmdCheck:
                begin
                    sa_errcode$d = ((32'h0) & 4'hf);
                    sa_valid$d = ctx_valid;
                    if (|sa_index$q[(32'ha)+:(6)]) begin
                        sa_errcode$d = e_bad_index;
                        phase$d = Phase$CmdDone;
                    end
                    else if ((sa_op$q == 32'h0) | (sa_op$q > 32'h4)) begin
                        sa_errcode$d = e_bad_opcode;
                        phase$d = Phase$CmdDone;
                    end
                    else if (((sa_op$q == 32'h1) | (sa_op$q == 32'h3)) & sa_flags$q[32'h1] & sa_flags$q[32'h2]) begin
                        sa_errcode$d = e_unsupported;
                        phase$d = Phase$CmdDone;
                    end
                    else if ((sa_op$q == 32'h3) & ~ctx_valid) begin
                        sa_errcode$d = e_not_valid;
                        phase$d = Phase$CmdDone;
                    end
                    else if (sa_op$q == 32'h1) begin
                        sa_key$write_enable = 1'b1;
                        sa_key$write_data = key_le;
                        aes$key_load = 1'b1;
                        phase$d = Phase$CmdKey;
                    end
                    else if (sa_op$q == 32'h2) begin
                        sa_key$write_enable = 1'b1;
                        sa_hkey$write_enable = 1'b1;
                        sa_ctx$write_enable = 1'b1;
                        sa_cnt$write_enable = 1'b1;
                        sa_valid$d = 1'b0;
                        phase$d = Phase$CmdDone;
                    end
                    else if (sa_op$q == 32'h3) begin
                        sa_ctx$write_enable = 1'b1;
                        sa_ctx$write_data = (ctx_new & ~k_ctx_salt_mask) | (ctx_rd & k_ctx_salt_mask);
                        phase$d = Phase$CmdDone;
                    end
                    else begin
                        rb_spi$d = ctx_rd[(32'h0)+:(32)];
                        rb_flags$d = ctx_flags;
                        rb_valid$d = ctx_valid;
                        rb_seq$d = ctx_seq;
                        rb_pkts$d = sa_cnt$read_data[(32'h0)+:(64)];
                        rb_bytes$d = rdc_sh_bytes[(32'h0)+:(64)];
                        rb_auth$d = rdc_sh_auth[(32'h0)+:(32)];
                        phase$d = Phase$CmdDone;
                    end
                end
            Phase$CmdKey:
                begin
                    if (aes$key_ready) begin
                        aes$in_valid = 1'b1;
                        phase$d = Phase$CmdHash;
                    end
                end
            Phase$CmdHash:
                begin
                    if (aes$out_valid) begin
                        sa_hkey$write_enable = 1'b1;
                        sa_hkey$write_data = aes$out_block;
                        sa_ctx$write_enable = 1'b1;
                        sa_ctx$write_data = ctx_new;
                        sa_cnt$write_enable = 1'b1;
                        sa_valid$d = 1'b1;
                        phase$d = Phase$CmdDone;
                    end
                end
            Phase$CmdDone:
                begin
                    key0$d = ((32'h0) & 32'hffffffff);
                    key1$d = ((32'h0) & 32'hffffffff);
                    key2$d = ((32'h0) & 32'hffffffff);
                    key3$d = ((32'h0) & 32'hffffffff);
                    key4$d = ((32'h0) & 32'hffffffff);
                    key5$d = ((32'h0) & 32'hffffffff);
                    key6$d = ((32'h0) & 32'hffffffff);
                    key7$d = ((32'h0) & 32'hffffffff);
                    sa_salt$d = ((32'h0) & 32'hffffffff);
                    cmd_pending$d = 1'b0;
                    sa_done$d = 1'b1;
                    sa_error$d = |sa_errcode$q;
                    if (|sa_errcode$q) begin
                        err_set = ((32'h4) & 5'h1f);
                    end
                    phase$d = Phase$Idle;
                end
        endcase
        in_b0$read_address = ((in_rd) & 10'h3ff);
        in_b1$read_address = ((in_rd) & 10'h3ff);
        in_b2$read_address = ((in_rd) & 10'h3ff);
        in_b3$read_address = ((in_rd) & 10'h3ff);
        out_buf$read_address = ((out_rd) & 10'h3ff);
        m_axis_tuser = ((verdict$q) & 96'hffffffffffffffffffffffff) | (((rx_nh$q) & 96'hffffffffffffffffffffffff) << 32'h8) | (((d_index$q) & 96'hffffffffffffffffffffffff) << 32'h10) | (((seq_cur$q) & 96'hffffffffffffffffffffffff) << 32'h20);
        if (d_inbound$q) begin
            m_axis_tuser = m_axis_tuser | 32'h10;
        end
        err_events$d = (err_events$q & ~err_clr) | err_set;
        if (reset) begin
            phase$d = Phase$Idle;
            bvalid$d = 1'b0;
            rstate$d = ((32'h0) & 2'h3);
            cmd_pending$d = 1'b0;
            db_pending$d = 1'b0;
            win_active$d = 1'b0;
            pkt_done$d = 1'b0;
            sa_done$d = 1'b0;
            sa_error$d = 1'b0;
            res_ok$d = 1'b0;
            err_events$d = ((32'h0) & 5'h1f);
            scratch$d = ((32'h0) & 32'hffffffff);
            cnt_out_pkts$d = ((32'h0) & 64'hffffffffffffffff);
            cnt_out_bytes$d = ((32'h0) & 64'hffffffffffffffff);
            cnt_in_pkts$d = ((32'h0) & 64'hffffffffffffffff);
            cnt_in_bytes$d = ((32'h0) & 64'hffffffffffffffff);
            cnt_auth$d = ((32'h0) & 64'hffffffffffffffff);
            cnt_bad$d = ((32'h0) & 64'hffffffffffffffff);
        end
    end
    
endmodule // top


module top$aes(clock,key,aes256,key_load,key_ready,in_valid,in_block,out_valid,out_block);
    
    // Module arguments
    input wire  clock;
    input wire  [255:0] key;
    input wire  aes256;
    input wire  key_load;
    output reg  key_ready;
    input wire  in_valid;
    input wire  [127:0] in_block;
    output reg  out_valid;
    output reg  [127:0] out_block;
    
    // Stub signals
    reg  [127:0] key_q$d;
    wire  [127:0] key_q$q;
    reg  key_q$clock;
    reg  ready_q$d;
    wire  ready_q$q;
    reg  ready_q$clock;
    reg  v1$d;
    wire  v1$q;
    reg  v1$clock;
    reg  [127:0] d1$d;
    wire  [127:0] d1$q;
    reg  d1$clock;
    reg  v2$d;
    wire  v2$q;
    reg  v2$clock;
    reg  [127:0] d2$d;
    wire  [127:0] d2$q;
    reg  d2$clock;
    
    // Sub module instances
    top$aes$key_q key_q(
        .d(key_q$d),
        .q(key_q$q),
        .clock(key_q$clock)
    );
    top$aes$ready_q ready_q(
        .d(ready_q$d),
        .q(ready_q$q),
        .clock(ready_q$clock)
    );
    top$aes$v1 v1(
        .d(v1$d),
        .q(v1$q),
        .clock(v1$clock)
    );
    top$aes$d1 d1(
        .d(d1$d),
        .q(d1$q),
        .clock(d1$clock)
    );
    top$aes$v2 v2(
        .d(v2$d),
        .q(v2$q),
        .clock(v2$clock)
    );
    top$aes$d2 d2(
        .d(d2$d),
        .q(d2$q),
        .clock(d2$clock)
    );
    
    // Update code
    always @(*) begin
        key_q$clock = clock;
        ready_q$clock = clock;
        v1$clock = clock;
        d1$clock = clock;
        v2$clock = clock;
        d2$clock = clock;
        key_q$d = key_q$q;
        ready_q$d = ready_q$q;
        v1$d = v1$q;
        d1$d = d1$q;
        v2$d = v2$q;
        d2$d = d2$q;
        if (key_load) begin
            key_q$d = key[(32'h80)+:(128)];
            ready_q$d = 1'b0;
        end
        else begin
            ready_q$d = 1'b1;
        end
        key_ready = ready_q$q & ~key_load;
        v1$d = in_valid;
        d1$d = in_block ^ key_q$q;
        v2$d = v1$q;
        d2$d = d1$q;
        out_valid = v2$q;
        out_block = d2$q;
    end
    
endmodule // top$aes


module top$aes$d1(d,q,clock);
    
    // Module arguments
    input wire  [127:0] d;
    output reg  [127:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 128'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$aes$d1


module top$aes$d2(d,q,clock);
    
    // Module arguments
    input wire  [127:0] d;
    output reg  [127:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 128'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$aes$d2


module top$aes$key_q(d,q,clock);
    
    // Module arguments
    input wire  [127:0] d;
    output reg  [127:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 128'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$aes$key_q


module top$aes$ready_q(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$aes$ready_q


module top$aes$v1(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$aes$v1


module top$aes$v2(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$aes$v2


module top$bs_ctr(din,dout);
    
    // Module arguments
    input wire  [31:0] din;
    output reg  [31:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 32'hffffffff) << 32'h18) | (((din[(32'h8)+:(8)]) & 32'hffffffff) << 32'h10) | (((din[(32'h10)+:(8)]) & 32'hffffffff) << 32'h8) | ((din[(32'h18)+:(8)]) & 32'hffffffff);
    end
    
endmodule // top$bs_ctr


module top$bs_din_slo(din,dout);
    
    // Module arguments
    input wire  [31:0] din;
    output reg  [31:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 32'hffffffff) << 32'h18) | (((din[(32'h8)+:(8)]) & 32'hffffffff) << 32'h10) | (((din[(32'h10)+:(8)]) & 32'hffffffff) << 32'h8) | ((din[(32'h18)+:(8)]) & 32'hffffffff);
    end
    
endmodule // top$bs_din_slo


module top$bs_din_spi(din,dout);
    
    // Module arguments
    input wire  [31:0] din;
    output reg  [31:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 32'hffffffff) << 32'h18) | (((din[(32'h8)+:(8)]) & 32'hffffffff) << 32'h10) | (((din[(32'h10)+:(8)]) & 32'hffffffff) << 32'h8) | ((din[(32'h18)+:(8)]) & 32'hffffffff);
    end
    
endmodule // top$bs_din_spi


module top$bs_gh(din,dout);
    
    // Module arguments
    input wire  [127:0] din;
    output reg  [127:0] dout;
    
    // Stub signals
    reg  [63:0] lo$din;
    wire  [63:0] lo$dout;
    reg  [63:0] hi$din;
    wire  [63:0] hi$dout;
    
    // Sub module instances
    top$bs_gh$lo lo(
        .din(lo$din),
        .dout(lo$dout)
    );
    top$bs_gh$hi hi(
        .din(hi$din),
        .dout(hi$dout)
    );
    
    // Update code
    always @(*) begin
        lo$din = din[(32'h0)+:(64)];
        hi$din = din[(32'h40)+:(64)];
        dout = (((lo$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h40) | ((hi$dout) & 128'hffffffffffffffffffffffffffffffff);
    end
    
endmodule // top$bs_gh


module top$bs_gh$hi(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_gh$hi


module top$bs_gh$lo(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_gh$lo


module top$bs_k0(din,dout);
    
    // Module arguments
    input wire  [127:0] din;
    output reg  [127:0] dout;
    
    // Stub signals
    reg  [63:0] lo$din;
    wire  [63:0] lo$dout;
    reg  [63:0] hi$din;
    wire  [63:0] hi$dout;
    
    // Sub module instances
    top$bs_k0$lo lo(
        .din(lo$din),
        .dout(lo$dout)
    );
    top$bs_k0$hi hi(
        .din(hi$din),
        .dout(hi$dout)
    );
    
    // Update code
    always @(*) begin
        lo$din = din[(32'h0)+:(64)];
        hi$din = din[(32'h40)+:(64)];
        dout = (((lo$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h40) | ((hi$dout) & 128'hffffffffffffffffffffffffffffffff);
    end
    
endmodule // top$bs_k0


module top$bs_k0$hi(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_k0$hi


module top$bs_k0$lo(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_k0$lo


module top$bs_k1(din,dout);
    
    // Module arguments
    input wire  [127:0] din;
    output reg  [127:0] dout;
    
    // Stub signals
    reg  [63:0] lo$din;
    wire  [63:0] lo$dout;
    reg  [63:0] hi$din;
    wire  [63:0] hi$dout;
    
    // Sub module instances
    top$bs_k1$lo lo(
        .din(lo$din),
        .dout(lo$dout)
    );
    top$bs_k1$hi hi(
        .din(hi$din),
        .dout(hi$dout)
    );
    
    // Update code
    always @(*) begin
        lo$din = din[(32'h0)+:(64)];
        hi$din = din[(32'h40)+:(64)];
        dout = (((lo$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h40) | ((hi$dout) & 128'hffffffffffffffffffffffffffffffff);
    end
    
endmodule // top$bs_k1


module top$bs_k1$hi(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_k1$hi


module top$bs_k1$lo(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_k1$lo


module top$bs_ks(din,dout);
    
    // Module arguments
    input wire  [127:0] din;
    output reg  [127:0] dout;
    
    // Stub signals
    reg  [63:0] lo$din;
    wire  [63:0] lo$dout;
    reg  [63:0] hi$din;
    wire  [63:0] hi$dout;
    
    // Sub module instances
    top$bs_ks$lo lo(
        .din(lo$din),
        .dout(lo$dout)
    );
    top$bs_ks$hi hi(
        .din(hi$din),
        .dout(hi$dout)
    );
    
    // Update code
    always @(*) begin
        lo$din = din[(32'h0)+:(64)];
        hi$din = din[(32'h40)+:(64)];
        dout = (((lo$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h40) | ((hi$dout) & 128'hffffffffffffffffffffffffffffffff);
    end
    
endmodule // top$bs_ks


module top$bs_ks$hi(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_ks$hi


module top$bs_ks$lo(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_ks$lo


module top$bs_la(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_la


module top$bs_lc(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_lc


module top$bs_nonce(din,dout);
    
    // Module arguments
    input wire  [127:0] din;
    output reg  [127:0] dout;
    
    // Stub signals
    reg  [63:0] lo$din;
    wire  [63:0] lo$dout;
    reg  [63:0] hi$din;
    wire  [63:0] hi$dout;
    
    // Sub module instances
    top$bs_nonce$lo lo(
        .din(lo$din),
        .dout(lo$dout)
    );
    top$bs_nonce$hi hi(
        .din(hi$din),
        .dout(hi$dout)
    );
    
    // Update code
    always @(*) begin
        lo$din = din[(32'h0)+:(64)];
        hi$din = din[(32'h40)+:(64)];
        dout = (((lo$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h40) | ((hi$dout) & 128'hffffffffffffffffffffffffffffffff);
    end
    
endmodule // top$bs_nonce


module top$bs_nonce$hi(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_nonce$hi


module top$bs_nonce$lo(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_nonce$lo


module top$bs_seq64(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_seq64


module top$bs_shi(din,dout);
    
    // Module arguments
    input wire  [31:0] din;
    output reg  [31:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 32'hffffffff) << 32'h18) | (((din[(32'h8)+:(8)]) & 32'hffffffff) << 32'h10) | (((din[(32'h10)+:(8)]) & 32'hffffffff) << 32'h8) | ((din[(32'h18)+:(8)]) & 32'hffffffff);
    end
    
endmodule // top$bs_shi


module top$bs_slo(din,dout);
    
    // Module arguments
    input wire  [31:0] din;
    output reg  [31:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 32'hffffffff) << 32'h18) | (((din[(32'h8)+:(8)]) & 32'hffffffff) << 32'h10) | (((din[(32'h10)+:(8)]) & 32'hffffffff) << 32'h8) | ((din[(32'h18)+:(8)]) & 32'hffffffff);
    end
    
endmodule // top$bs_slo


module top$bs_spi(din,dout);
    
    // Module arguments
    input wire  [31:0] din;
    output reg  [31:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 32'hffffffff) << 32'h18) | (((din[(32'h8)+:(8)]) & 32'hffffffff) << 32'h10) | (((din[(32'h10)+:(8)]) & 32'hffffffff) << 32'h8) | ((din[(32'h18)+:(8)]) & 32'hffffffff);
    end
    
endmodule // top$bs_spi


module top$bs_tag(din,dout);
    
    // Module arguments
    input wire  [127:0] din;
    output reg  [127:0] dout;
    
    // Stub signals
    reg  [63:0] lo$din;
    wire  [63:0] lo$dout;
    reg  [63:0] hi$din;
    wire  [63:0] hi$dout;
    
    // Sub module instances
    top$bs_tag$lo lo(
        .din(lo$din),
        .dout(lo$dout)
    );
    top$bs_tag$hi hi(
        .din(hi$din),
        .dout(hi$dout)
    );
    
    // Update code
    always @(*) begin
        lo$din = din[(32'h0)+:(64)];
        hi$din = din[(32'h40)+:(64)];
        dout = (((lo$dout) & 128'hffffffffffffffffffffffffffffffff) << 32'h40) | ((hi$dout) & 128'hffffffffffffffffffffffffffffffff);
    end
    
endmodule // top$bs_tag


module top$bs_tag$hi(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_tag$hi


module top$bs_tag$lo(din,dout);
    
    // Module arguments
    input wire  [63:0] din;
    output reg  [63:0] dout;
    
    // Update code
    always @(*) begin
        dout = (((din[(32'h0)+:(8)]) & 64'hffffffffffffffff) << 32'h38) | (((din[(32'h8)+:(8)]) & 64'hffffffffffffffff) << 32'h30) | (((din[(32'h10)+:(8)]) & 64'hffffffffffffffff) << 32'h28) | (((din[(32'h18)+:(8)]) & 64'hffffffffffffffff) << 32'h20) | (((din[(32'h20)+:(8)]) & 64'hffffffffffffffff) << 32'h18) | (((din[(32'h28)+:(8)]) & 64'hffffffffffffffff) << 32'h10) | (((din[(32'h30)+:(8)]) & 64'hffffffffffffffff) << 32'h8) | ((din[(32'h38)+:(8)]) & 64'hffffffffffffffff);
    end
    
endmodule // top$bs_tag$lo


module top$bvalid(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$bvalid


module top$c_cnt(d,q,clock);
    
    // Module arguments
    input wire  [159:0] d;
    output reg  [159:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 160'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$c_cnt


module top$c_flags(d,q,clock);
    
    // Module arguments
    input wire  [3:0] d;
    output reg  [3:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 4'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$c_flags


module top$c_salt(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$c_salt


module top$c_spi(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$c_spi


module top$cmd_pending(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$cmd_pending


module top$cnt_auth(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$cnt_auth


module top$cnt_bad(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$cnt_bad


module top$cnt_in_bytes(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$cnt_in_bytes


module top$cnt_in_pkts(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$cnt_in_pkts


module top$cnt_out_bytes(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$cnt_out_bytes


module top$cnt_out_pkts(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$cnt_out_pkts


module top$cons(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$cons


module top$cur_idx(d,q,clock);
    
    // Module arguments
    input wire  [9:0] d;
    output reg  [9:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 10'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$cur_idx


module top$d_inbound(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$d_inbound


module top$d_index(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$d_index


module top$d_len(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$d_len


module top$d_nh(d,q,clock);
    
    // Module arguments
    input wire  [7:0] d;
    output reg  [7:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 8'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$d_nh


module top$d_seqhi(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$d_seqhi


module top$db_pending(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$db_pending


module top$dlen(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$dlen


module top$ej0(d,q,clock);
    
    // Module arguments
    input wire  [127:0] d;
    output reg  [127:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 128'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$ej0


module top$err_events(d,q,clock);
    
    // Module arguments
    input wire  [4:0] d;
    output reg  [4:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 5'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$err_events


module top$ghash(clock,h,clear,in_valid,in_block,idle,y);
    
    // Module arguments
    input wire  clock;
    input wire  [127:0] h;
    input wire  clear;
    input wire  in_valid;
    input wire  [127:0] in_block;
    output reg  idle;
    output reg  [127:0] y;
    
    // Stub signals
    reg  [127:0] acc$d;
    wire  [127:0] acc$q;
    reg  acc$clock;
    
    // Sub module instances
    top$ghash$acc acc(
        .d(acc$d),
        .q(acc$q),
        .clock(acc$clock)
    );
    
    // Update code
    always @(*) begin
        acc$clock = clock;
        acc$d = acc$q;
        if (clear) begin
            acc$d = ((32'h0) & 128'hffffffffffffffffffffffffffffffff);
        end
        else if (in_valid) begin
            acc$d = acc$q ^ in_block ^ (h & ((32'h0) & 128'hffffffffffffffffffffffffffffffff));
        end
        idle = ~in_valid;
        y = acc$q;
    end
    
endmodule // top$ghash


module top$ghash$acc(d,q,clock);
    
    // Module arguments
    input wire  [127:0] d;
    output reg  [127:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 128'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$ghash$acc


module top$got_j0(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$got_j0


module top$hi_snap(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$hi_snap


module top$hkey(d,q,clock);
    
    // Module arguments
    input wire  [127:0] d;
    output reg  [127:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 128'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$hkey


module top$icv_lo(d,q,clock);
    
    // Module arguments
    input wire  [127:0] d;
    output reg  [127:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 128'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$icv_lo


module top$in_b0(read_address,read_clock,read_data,write_address,write_clock,write_data,write_enable);
    
    // Module arguments
    input wire  [9:0] read_address;
    input wire  read_clock;
    output reg  [31:0] read_data;
    input wire  [9:0] write_address;
    input wire  write_clock;
    input wire  [31:0] write_data;
    input wire  write_enable;
    
    // Update code (custom)
    reg[31:0] mem[1023:0];
    
    
    
    always @(posedge read_clock) begin
       read_data <= mem[read_address];
    end
    
    always @(posedge write_clock) begin
       if (write_enable) begin
          mem[write_address] <= write_data;
       end
    end
                
endmodule // top$in_b0


module top$in_b1(read_address,read_clock,read_data,write_address,write_clock,write_data,write_enable);
    
    // Module arguments
    input wire  [9:0] read_address;
    input wire  read_clock;
    output reg  [31:0] read_data;
    input wire  [9:0] write_address;
    input wire  write_clock;
    input wire  [31:0] write_data;
    input wire  write_enable;
    
    // Update code (custom)
    reg[31:0] mem[1023:0];
    
    
    
    always @(posedge read_clock) begin
       read_data <= mem[read_address];
    end
    
    always @(posedge write_clock) begin
       if (write_enable) begin
          mem[write_address] <= write_data;
       end
    end
                
endmodule // top$in_b1


module top$in_b2(read_address,read_clock,read_data,write_address,write_clock,write_data,write_enable);
    
    // Module arguments
    input wire  [9:0] read_address;
    input wire  read_clock;
    output reg  [31:0] read_data;
    input wire  [9:0] write_address;
    input wire  write_clock;
    input wire  [31:0] write_data;
    input wire  write_enable;
    
    // Update code (custom)
    reg[31:0] mem[1023:0];
    
    
    
    always @(posedge read_clock) begin
       read_data <= mem[read_address];
    end
    
    always @(posedge write_clock) begin
       if (write_enable) begin
          mem[write_address] <= write_data;
       end
    end
                
endmodule // top$in_b2


module top$in_b3(read_address,read_clock,read_data,write_address,write_clock,write_data,write_enable);
    
    // Module arguments
    input wire  [9:0] read_address;
    input wire  read_clock;
    output reg  [31:0] read_data;
    input wire  [9:0] write_address;
    input wire  write_clock;
    input wire  [31:0] write_data;
    input wire  write_enable;
    
    // Update code (custom)
    reg[31:0] mem[1023:0];
    
    
    
    always @(posedge read_clock) begin
       read_data <= mem[read_address];
    end
    
    always @(posedge write_clock) begin
       if (write_enable) begin
          mem[write_address] <= write_data;
       end
    end
                
endmodule // top$in_b3


module top$iss(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$iss


module top$iv_pkt(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$iv_pkt


module top$keep_cnt(keep,count);
    
    // Module arguments
    input wire  [15:0] keep;
    output reg  [15:0] count;
    
    // Update code
    always @(*) begin
        count = ((keep[(32'h0)+:(1)]) & 16'hffff) + ((keep[(32'h1)+:(1)]) & 16'hffff) + ((keep[(32'h2)+:(1)]) & 16'hffff) + ((keep[(32'h3)+:(1)]) & 16'hffff) + ((keep[(32'h4)+:(1)]) & 16'hffff) + ((keep[(32'h5)+:(1)]) & 16'hffff) + ((keep[(32'h6)+:(1)]) & 16'hffff) + ((keep[(32'h7)+:(1)]) & 16'hffff) + ((keep[(32'h8)+:(1)]) & 16'hffff) + ((keep[(32'h9)+:(1)]) & 16'hffff) + ((keep[(32'ha)+:(1)]) & 16'hffff) + ((keep[(32'hb)+:(1)]) & 16'hffff) + ((keep[(32'hc)+:(1)]) & 16'hffff) + ((keep[(32'hd)+:(1)]) & 16'hffff) + ((keep[(32'he)+:(1)]) & 16'hffff) + ((keep[(32'hf)+:(1)]) & 16'hffff);
    end
    
endmodule // top$keep_cnt


module top$key0(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$key0


module top$key1(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$key1


module top$key2(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$key2


module top$key3(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$key3


module top$key4(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$key4


module top$key5(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$key5


module top$key6(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$key6


module top$key7(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$key7


module top$last_ct(d,q,clock);
    
    // Module arguments
    input wire  [127:0] d;
    output reg  [127:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 128'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$last_ct


module top$m_in(count,mask);
    
    // Module arguments
    input wire  [15:0] count;
    output reg  [127:0] mask;
    
    // Update code
    always @(*) begin
        if (count >= 32'h10) begin
            mask = ~((32'h0) & 128'hffffffffffffffffffffffffffffffff);
        end
        else begin
            mask = (((32'h1) & 128'hffffffffffffffffffffffffffffffff) << (((count) & 8'hff) << 32'h3)) - 32'h1;
        end
    end
    
endmodule // top$m_in


module top$m_valid(count,mask);
    
    // Module arguments
    input wire  [15:0] count;
    output reg  [127:0] mask;
    
    // Update code
    always @(*) begin
        if (count >= 32'h10) begin
            mask = ~((32'h0) & 128'hffffffffffffffffffffffffffffffff);
        end
        else begin
            mask = (((32'h1) & 128'hffffffffffffffffffffffffffffffff) << (((count) & 8'hff) << 32'h3)) - 32'h1;
        end
    end
    
endmodule // top$m_valid


module top$nblk(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$nblk


module top$out_buf(read_address,read_clock,read_data,write_address,write_clock,write_data,write_enable);
    
    // Module arguments
    input wire  [9:0] read_address;
    input wire  read_clock;
    output reg  [127:0] read_data;
    input wire  [9:0] write_address;
    input wire  write_clock;
    input wire  [127:0] write_data;
    input wire  write_enable;
    
    // Update code (custom)
    reg[127:0] mem[1023:0];
    
    
    
    always @(posedge read_clock) begin
       read_data <= mem[read_address];
    end
    
    always @(posedge write_clock) begin
       if (write_enable) begin
          mem[write_address] <= write_data;
       end
    end
                
endmodule // top$out_buf


module top$padlen(d,q,clock);
    
    // Module arguments
    input wire  [7:0] d;
    output reg  [7:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 8'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$padlen


module top$phase(d,q,clock);
    
    // Module arguments
    input wire  [4:0] d;
    output reg  [4:0] q;
    input wire  clock;
    
    // Enums
    localparam Phase$Idle = 0;
    localparam Phase$Rx = 1;
    localparam Phase$PktLoad = 2;
    localparam Phase$PktCheck = 3;
    localparam Phase$PktKey = 4;
    localparam Phase$PktRun = 5;
    localparam Phase$PktLen = 6;
    localparam Phase$PktTag = 7;
    localparam Phase$PktIcv0 = 8;
    localparam Phase$PktIcv1 = 9;
    localparam Phase$PktIcv2 = 10;
    localparam Phase$PktTagOut1 = 11;
    localparam Phase$PktTagOut2 = 12;
    localparam Phase$PktFinish = 13;
    localparam Phase$TxPrime = 14;
    localparam Phase$Tx = 15;
    localparam Phase$CmdLoad = 16;
    localparam Phase$CmdCheck = 17;
    localparam Phase$CmdKey = 18;
    localparam Phase$CmdHash = 19;
    localparam Phase$CmdDone = 20;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$phase


module top$pkt_desc(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$pkt_desc


module top$pkt_done(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$pkt_done


module top$pkt_len(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$pkt_len


module top$pkt_seqhi(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$pkt_seqhi


module top$raddr(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$raddr


module top$rb_auth(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rb_auth


module top$rb_bytes(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rb_bytes


module top$rb_flags(d,q,clock);
    
    // Module arguments
    input wire  [3:0] d;
    output reg  [3:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 4'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rb_flags


module top$rb_pkts(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rb_pkts


module top$rb_seq(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rb_seq


module top$rb_spi(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rb_spi


module top$rb_valid(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rb_valid


module top$rdata(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rdata


module top$res_len(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$res_len


module top$res_nh(d,q,clock);
    
    // Module arguments
    input wire  [7:0] d;
    output reg  [7:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 8'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$res_nh


module top$res_ok(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$res_ok


module top$res_seq(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$res_seq


module top$res_verdict(d,q,clock);
    
    // Module arguments
    input wire  [3:0] d;
    output reg  [3:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 4'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$res_verdict


module top$rlen(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rlen


module top$rstate(d,q,clock);
    
    // Module arguments
    input wire  [1:0] d;
    output reg  [1:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 2'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rstate


module top$rx_bytes(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rx_bytes


module top$rx_first(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rx_first


module top$rx_nh(d,q,clock);
    
    // Module arguments
    input wire  [7:0] d;
    output reg  [7:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 8'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rx_nh


module top$rx_words(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$rx_words


module top$sa_cnt(read_address,read_clock,read_data,write_address,write_clock,write_data,write_enable);
    
    // Module arguments
    input wire  [9:0] read_address;
    input wire  read_clock;
    output reg  [159:0] read_data;
    input wire  [9:0] write_address;
    input wire  write_clock;
    input wire  [159:0] write_data;
    input wire  write_enable;
    
    // Update code (custom)
    reg[159:0] mem[1023:0];
    
    
    
    always @(posedge read_clock) begin
       read_data <= mem[read_address];
    end
    
    always @(posedge write_clock) begin
       if (write_enable) begin
          mem[write_address] <= write_data;
       end
    end
                
endmodule // top$sa_cnt


module top$sa_ctx(read_address,read_clock,read_data,write_address,write_clock,write_data,write_enable);
    
    // Module arguments
    input wire  [9:0] read_address;
    input wire  read_clock;
    output reg  [135:0] read_data;
    input wire  [9:0] write_address;
    input wire  write_clock;
    input wire  [135:0] write_data;
    input wire  write_enable;
    
    // Update code (custom)
    reg[135:0] mem[1023:0];
    
    
    
    always @(posedge read_clock) begin
       read_data <= mem[read_address];
    end
    
    always @(posedge write_clock) begin
       if (write_enable) begin
          mem[write_address] <= write_data;
       end
    end
                
endmodule // top$sa_ctx


module top$sa_done(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$sa_done


module top$sa_errcode(d,q,clock);
    
    // Module arguments
    input wire  [3:0] d;
    output reg  [3:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 4'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$sa_errcode


module top$sa_error(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$sa_error


module top$sa_flags(d,q,clock);
    
    // Module arguments
    input wire  [3:0] d;
    output reg  [3:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 4'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$sa_flags


module top$sa_hkey(read_address,read_clock,read_data,write_address,write_clock,write_data,write_enable);
    
    // Module arguments
    input wire  [9:0] read_address;
    input wire  read_clock;
    output reg  [127:0] read_data;
    input wire  [9:0] write_address;
    input wire  write_clock;
    input wire  [127:0] write_data;
    input wire  write_enable;
    
    // Update code (custom)
    reg[127:0] mem[1023:0];
    
    
    
    always @(posedge read_clock) begin
       read_data <= mem[read_address];
    end
    
    always @(posedge write_clock) begin
       if (write_enable) begin
          mem[write_address] <= write_data;
       end
    end
                
endmodule // top$sa_hkey


module top$sa_index(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$sa_index


module top$sa_key(read_address,read_clock,read_data,write_address,write_clock,write_data,write_enable);
    
    // Module arguments
    input wire  [9:0] read_address;
    input wire  read_clock;
    output reg  [255:0] read_data;
    input wire  [9:0] write_address;
    input wire  write_clock;
    input wire  [255:0] write_data;
    input wire  write_enable;
    
    // Update code (custom)
    reg[255:0] mem[1023:0];
    
    
    
    always @(posedge read_clock) begin
       read_data <= mem[read_address];
    end
    
    always @(posedge write_clock) begin
       if (write_enable) begin
          mem[write_address] <= write_data;
       end
    end
                
endmodule // top$sa_key


module top$sa_op(d,q,clock);
    
    // Module arguments
    input wire  [3:0] d;
    output reg  [3:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 4'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$sa_op


module top$sa_salt(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$sa_salt


module top$sa_seq(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$sa_seq


module top$sa_spi(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$sa_spi


module top$sa_valid(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$sa_valid


module top$scratch(d,q,clock);
    
    // Module arguments
    input wire  [31:0] d;
    output reg  [31:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 32'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$scratch


module top$seq_cur(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$seq_cur


module top$src_stream(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$src_stream


module top$tag(d,q,clock);
    
    // Module arguments
    input wire  [127:0] d;
    output reg  [127:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 128'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$tag


module top$tp(d,q,clock);
    
    // Module arguments
    input wire  [63:0] d;
    output reg  [63:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 64'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$tp


module top$tx_keep(count,keep);
    
    // Module arguments
    input wire  [15:0] count;
    output reg  [15:0] keep;
    
    // Update code
    always @(*) begin
        if (count >= 32'h10) begin
            keep = ((32'hffff) & 16'hffff);
        end
        else begin
            keep = (((32'h1) & 16'hffff) << count) - 32'h1;
        end
    end
    
endmodule // top$tx_keep


module top$tx_w(d,q,clock);
    
    // Module arguments
    input wire  [15:0] d;
    output reg  [15:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 16'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$tx_w


module top$verdict(d,q,clock);
    
    // Module arguments
    input wire  [3:0] d;
    output reg  [3:0] q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 4'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$verdict


module top$win_active(d,q,clock);
    
    // Module arguments
    input wire  d;
    output reg  q;
    input wire  clock;
    
    // Update code (custom)
    initial begin
       q = 1'h0;
    end
    
    always @(posedge clock) begin
       q <= d;
    end
          
endmodule // top$win_active
