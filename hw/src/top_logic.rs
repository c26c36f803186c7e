// The behaviour of `Top` (included by top.rs so it sees the private fields).
//
// The packet path is a pipeline of four parts that work on different packets at once:
// - receive: `s_axis` beats into one of two input slots while the other is read;
// - issue (`phase`): SA read and checks, then E(J0), one counter block per clock
//   with the block's input word carried alongside through the AES pipeline (tag kind
//   2), and a length slot (kind 3) that also carries the inbound ICV's second word;
// - output side: at the pipeline's end each block meets its keystream, is written to
//   one of four result slots and hashed (GHASH one block per clock, registered once);
// - tail: tag, ICV write or compare, counters and result of the packet whose length
//   slot just left the pipeline, while the next packet's blocks follow;
// - send: result slots out on `m_axis` in order.

impl Logic for Top {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, len_gap, hd_mv, hd_mi, hd_trail, hd_pcnt, hd_last, n_mv, n_mi, n_trail, n_pcnt, n_last, r_dv, r_di, p_valid, p_brk, p_k16, q_prevb, q_lastbrk, q_pbyte, t_lastbrk, t_pbyte, bvalid,
            rstate,
            raddr,
            rdata,
            hi_snap,
            scratch,
            err_events,
            sa_index,
            sa_spi,
            sa_salt,
            sa_flags,
            sa_seq,
            key0,
            key1,
            key2,
            key3,
            key4,
            key5,
            key6,
            key7,
            sa_op,
            cmd_pending,
            sa_done,
            sa_error,
            sa_valid,
            sa_errcode,
            rb_spi,
            rb_flags,
            rb_valid,
            rb_seq,
            rb_pkts,
            rb_bytes,
            rb_auth,
            pkt_desc,
            pkt_len,
            pkt_seqhi,
            db_pending,
            win_active,
            pkt_done,
            res_verdict,
            res_nh,
            res_len,
            res_seq,
            res_ok,
            cnt_out_pkts,
            cnt_out_bytes,
            cnt_in_pkts,
            cnt_in_bytes,
            cnt_auth,
            cnt_bad,
            phase,
            cur_idx,
            src_stream,
            d_index,
            d_inbound,
            d_nh,
            d_seqhi,
            d_len,
            c_spi,
            c_salt,
            c_flags,
            seq_cur,
            iv_pkt,
            hkey,
            dlen,
            nblk,
            tp,
            iss,
            verdict,
            i_slot,
            i_oslot,
            f_push,
            f_cnt,
            f_rd,
            f_wr,
            fq0,
            fq1,
            fq2,
            fq3,
            inflight,
            o_slot,
            out_busy,
            kx_valid,
            kx_idx,
            q_inbound,
            q_flags,
            q_dlen,
            q_dl,
            q_tp,
            q_hkey,
            q_seq,
            q_index,
            q_verdict,
            q_oslot,
            q_stream,
            q_ej0,
            q_cons,
            q_last_ct,
            q_lastraw,
            q_padlen,
            q_rxnh,
            gq_valid,
            gq_last,
            gq_block,
            gq_h,
            t_busy,
            t_step,
            t_inbound,
            t_dlen,
            t_dl,
            t_nblk,
            t_ej0,
            t_seq,
            t_nh,
            t_padlen,
            t_index,
            t_verdict,
            t_oslot,
            t_stream,
            t_last_ct,
            t_icv,
            t_tag,
            t_rlen,
            tx_active,
            tx_slot,
            tx_w,
            s_rdy,
            s_rlen0,
            s_rlen1,
            s_rlen2,
            s_rlen3,
            s_tuser0,
            s_tuser1,
            s_tuser2,
            s_tuser3,
            rx_busy,
            rx_wslot,
            rx_full,
            rx_words,
            rx_bytes,
            rx_index,
            rx_inbound,
            rx_nhd,
            rx_seqhi,
            rx_desc0,
            rx_desc1);
        clock!(self, clock, aes, ghash);
        self.in_b0.read_clock.next = self.clock.val();
        self.in_b1.read_clock.next = self.clock.val();
        self.in_b2.read_clock.next = self.clock.val();
        self.in_b3.read_clock.next = self.clock.val();
        self.in_b0.write_clock.next = self.clock.val();
        self.in_b1.write_clock.next = self.clock.val();
        self.in_b2.write_clock.next = self.clock.val();
        self.in_b3.write_clock.next = self.clock.val();
        self.out_a.read_clock.next = self.clock.val();
        self.out_a.write_clock.next = self.clock.val();
        self.out_b.read_clock.next = self.clock.val();
        self.out_b.write_clock.next = self.clock.val();
        self.sa_key.read_clock.next = self.clock.val();
        self.sa_key.write_clock.next = self.clock.val();
        self.sa_hkey.read_clock.next = self.clock.val();
        self.sa_hkey.write_clock.next = self.clock.val();
        self.sa_ctx.read_clock.next = self.clock.val();
        self.sa_ctx.write_clock.next = self.clock.val();
        self.sa_cnt.read_clock.next = self.clock.val();
        self.sa_cnt.write_clock.next = self.clock.val();

        // ------------------------------------------------------------ defaults
        self.err_set.next = bits::<5>(0);
        self.err_clr.next = bits::<5>(0);
        self.in_b0.write_enable.next = false;
        self.in_b1.write_enable.next = false;
        self.in_b2.write_enable.next = false;
        self.in_b3.write_enable.next = false;
        // Input-window writes go to input slot 0.
        self.in_b0.write_address.next =
            bit_cast::<IBW, AW>((self.s_axil_awaddr.val() >> 4) & (self.k_buf_words.val() - 1));
        self.in_b1.write_address.next =
            bit_cast::<IBW, AW>((self.s_axil_awaddr.val() >> 4) & (self.k_buf_words.val() - 1));
        self.in_b2.write_address.next =
            bit_cast::<IBW, AW>((self.s_axil_awaddr.val() >> 4) & (self.k_buf_words.val() - 1));
        self.in_b3.write_address.next =
            bit_cast::<IBW, AW>((self.s_axil_awaddr.val() >> 4) & (self.k_buf_words.val() - 1));
        self.in_b0.write_data.next = self.s_axil_wdata.val();
        self.in_b1.write_data.next = self.s_axil_wdata.val();
        self.in_b2.write_data.next = self.s_axil_wdata.val();
        self.in_b3.write_data.next = self.s_axil_wdata.val();
        self.out_a.write_enable.next = false;
        self.out_a.write_address.next = bits::<IBW>(0);
        self.out_a.write_data.next = bits::<128>(0);
        self.out_b.write_enable.next = false;
        self.out_b.write_address.next = bits::<IBW>(0);
        self.out_b.write_data.next = bits::<128>(0);
        self.sa_key.write_enable.next = false;
        self.sa_hkey.write_enable.next = false;
        self.sa_ctx.write_enable.next = false;
        self.sa_cnt.write_enable.next = false;
        self.sa_key.write_address.next = self.cur_idx.q.val();
        self.sa_hkey.write_address.next = self.cur_idx.q.val();
        self.sa_ctx.write_address.next = self.cur_idx.q.val();
        self.sa_cnt.write_address.next = self.cur_idx.q.val();
        self.sa_key.write_data.next = bits::<KEYW>(0);
        self.sa_hkey.write_data.next = bits::<128>(0);
        self.sa_ctx.write_data.next = bits::<CTXW>(0);
        self.sa_cnt.write_data.next = bits::<CNTW>(0);
        self.sa_key.read_address.next = self.cur_idx.q.val();
        self.sa_hkey.read_address.next = self.cur_idx.q.val();
        self.sa_ctx.read_address.next = self.cur_idx.q.val();
        if self.t_busy.q.val() {
            self.sa_cnt.read_address.next = self.t_index.q.val().get_bits::<SW>(0);
        } else {
            self.sa_cnt.read_address.next = self.cur_idx.q.val();
        }
        self.aes.key_load.next = false;
        self.aes.in_valid.next = false;
        self.aes.in_tag.next = bits::<AES_TAG_BITS>(0);
        self.ghash.clear.next = self.reset.val();
        self.ghash.in_valid.next = self.gq_valid.q.val();
        self.ghash.in_last.next = self.gq_last.q.val();
        self.ghash.in_block.next = self.gq_block.q.val();
        self.ghash.h.next = self.gq_h.q.val();
        self.gq_valid.d.next = false;
        self.gq_last.d.next = false;
        self.s_axis_tready.next = false;
        self.m_axis_tvalid.next = false;
        self.m_axis_tdata.next = bits::<128>(0);
        self.m_axis_tkeep.next = bits::<16>(0);
        self.m_axis_tlast.next = false;
        self.m_axis_tuser.next = bits::<MUW>(0);
        self.in_rd.next = bits::<16>(0);
        self.chk_key.next = false;
        self.f_pop.next = false;
        self.f_push.d.next = false;
        self.f_oslot.next = bits::<2>(0);
        self.t_we.next = false;
        self.t_wd.next = bits::<128>(0);
        self.out_wa.next = bits::<IBW>(0);
        self.out_wd.next = bits::<128>(0);
        self.tx_done.next = false;
        self.rx_cur_desc.next = bits::<80>(0);
        self.rx_waddr.next = bits::<IBW>(0);
        self.out_rd.next = (bit_cast::<16, AW>(self.raddr.q.val()) >> 4)
            & (self.k_buf_words.val() - 1);
        self.dl_out.next = ((self.d_len.q.val() + 5) >> 2) << 2;
        self.pad_p.next = self.dl_out.val() - self.d_len.q.val() - 2;
        if self.d_inbound.q.val() {
            self.i_base.next = bits::<16>(1);
        } else {
            self.i_base.next = bits::<16>(0);
        }

        // ------------------------------------------------------------ buffers in
        self.din.next = bit_cast::<128, 32>(self.in_b0.read_data.val())
            | (bit_cast::<128, 32>(self.in_b1.read_data.val()) << 32)
            | (bit_cast::<128, 32>(self.in_b2.read_data.val()) << 64)
            | (bit_cast::<128, 32>(self.in_b3.read_data.val()) << 96);
        self.keep_cnt.keep.next = self.s_axis_tkeep.val();

        // ------------------------------------------------------------ SA words
        self.ctx_rd.next = self.sa_ctx.read_data.val();
        self.ctx_sh_valid.next = self.ctx_rd.val() >> self.s_ctx_valid.val();
        self.ctx_sh_flags.next = self.ctx_rd.val() >> self.s_ctx_flags.val();
        self.ctx_sh_seq.next = self.ctx_rd.val() >> self.s_ctx_seq.val();
        self.ctx_sh_salt.next = self.ctx_rd.val() >> self.s_ctx_salt.val();
        self.ctx_valid.next = self.ctx_sh_valid.val().get_bit(0);
        self.ctx_flags.next = self.ctx_sh_flags.val().get_bits::<4>(0);
        self.ctx_seq.next = self.ctx_sh_seq.val().get_bits::<64>(0);
        self.cnt_rd.next = self.sa_cnt.read_data.val();
        self.cnt_sh_bytes.next = self.cnt_rd.val() >> self.s_cnt_bytes.val();
        self.cnt_sh_auth.next = self.cnt_rd.val() >> self.s_cnt_auth.val();
        self.rdc_sh_bytes.next = self.sa_cnt.read_data.val() >> self.s_cnt_bytes.val();
        self.rdc_sh_auth.next = self.sa_cnt.read_data.val() >> self.s_cnt_auth.val();
        // Context word written by install/update (valid set) from the staging registers.
        self.ctx_new.next = bit_cast::<CTXW, 32>(self.sa_spi.q.val())
            | (bit_cast::<CTXW, 32>(self.sa_salt.q.val()) << self.s_ctx_salt.val())
            | (bit_cast::<CTXW, 64>(self.sa_seq.q.val()) << self.s_ctx_seq.val())
            | (bit_cast::<CTXW, 4>(self.sa_flags.q.val()) << self.s_ctx_flags.val())
            | (bits::<CTXW>(1) << self.s_ctx_valid.val());

        // Key into the AES unit: staging registers for installs, the key RAM otherwise.
        if (self.phase.q.val() == Phase::CmdCheck)
            | (self.phase.q.val() == Phase::CmdKey)
            | (self.phase.q.val() == Phase::CmdHash)
        {
            self.key_le.next = bit_cast::<KEYW, 32>(self.key0.q.val())
                | (bit_cast::<KEYW, 32>(self.key1.q.val()) << 32)
                | (bit_cast::<KEYW, 32>(self.key2.q.val()) << 64)
                | (bit_cast::<KEYW, 32>(self.key3.q.val()) << 96);
            if self.sa_flags.q.val().get_bit(0) {
                self.key_le.next = self.key_le.val()
                    | (bit_cast::<KEYW, 32>(self.key4.q.val()) << 128)
                    | (bit_cast::<KEYW, 32>(self.key5.q.val()) << 160)
                    | (bit_cast::<KEYW, 32>(self.key6.q.val()) << 192)
                    | (bit_cast::<KEYW, 32>(self.key7.q.val()) << 224);
            }
            self.aes.aes256.next = self.sa_flags.q.val().get_bit(0);
        } else {
            self.key_le.next = self.sa_key.read_data.val();
            self.aes.aes256.next = self.c_flags.q.val().get_bit(0);
        }
        self.bs_k0.din.next = self.key_le.val().get_bits::<128>(0);
        self.bs_k1.din.next = self.key_le.val().get_bits::<128>(128);
        self.aes.key.next = (bit_cast::<KEYW, 128>(self.bs_k0.dout.val()) << 128)
            | bit_cast::<KEYW, 128>(self.bs_k1.dout.val());

        // ------------------------------------------------------------ ESP words (issue context)
        self.bs_din_spi.din.next = self.din.val().get_bits::<32>(0);
        self.bs_din_slo.din.next = self.din.val().get_bits::<32>(32);
        self.bs_spi.din.next = self.c_spi.q.val();
        self.bs_slo.din.next = self.seq_cur.q.val().get_bits::<32>(0);
        self.bs_shi.din.next = self.seq_cur.q.val().get_bits::<32>(32);
        // In the check cycle E(J0) is issued from the SA entry and header just read;
        // afterwards the counter blocks use the packet's registered context.
        if self.phase.q.val() == Phase::PktCheck {
            self.bs_seq64.din.next = self.ctx_seq.val() + 1;
            self.n_salt.next = self.ctx_sh_salt.val().get_bits::<32>(0);
            self.bs_ctr.din.next = bits::<32>(1);
            if self.d_inbound.q.val() {
                self.iv_le.next = self.din.val().get_bits::<64>(64);
            } else {
                self.iv_le.next = self.bs_seq64.dout.val();
            }
        } else {
            self.bs_seq64.din.next = self.seq_cur.q.val();
            self.n_salt.next = self.c_salt.q.val();
            // Counter block of issue slot `iss`: 1 for J0, 2.. for the data blocks.
            self.bs_ctr.din.next = bit_cast::<32, 16>(self.iss.q.val()) + 1;
            if self.d_inbound.q.val() {
                self.iv_le.next = self.iv_pkt.q.val();
            } else {
                self.iv_le.next = self.bs_seq64.dout.val();
            }
        }
        self.nonce_le.next = bit_cast::<128, 32>(self.n_salt.val())
            | (bit_cast::<128, 64>(self.iv_le.val()) << 32)
            | (bit_cast::<128, 32>(self.bs_ctr.dout.val()) << 96);
        self.bs_nonce.din.next = self.nonce_le.val();
        if (self.phase.q.val() == Phase::CmdKey) | (self.phase.q.val() == Phase::CmdHash) {
            self.aes.in_block.next = bits::<128>(0);
        } else {
            self.aes.in_block.next = self.bs_nonce.dout.val();
        }
        // AAD: SPI | SeqLo (GCM), SPI | SeqHi | SeqLo (GCM with ESN), or the whole
        // ESP header SPI | SeqLo | IV (GMAC; the payload follows as AAD).
        if self.c_flags.q.val().get_bit(1) {
            self.aad_le.next = bit_cast::<128, 32>(self.bs_spi.dout.val())
                | (bit_cast::<128, 32>(self.bs_slo.dout.val()) << 32)
                | (bit_cast::<128, 64>(self.iv_le.val()) << 64);
        } else if self.c_flags.q.val().get_bit(2) {
            self.aad_le.next = bit_cast::<128, 32>(self.bs_spi.dout.val())
                | (bit_cast::<128, 32>(self.bs_shi.dout.val()) << 32)
                | (bit_cast::<128, 32>(self.bs_slo.dout.val()) << 64);
        } else {
            self.aad_le.next = bit_cast::<128, 32>(self.bs_spi.dout.val())
                | (bit_cast::<128, 32>(self.bs_slo.dout.val()) << 32);
        }
        // Outbound ESP header SPI | SeqLo | IV (result word 0).
        self.hdr_word.next = bit_cast::<128, 32>(self.bs_spi.dout.val())
            | (bit_cast::<128, 32>(self.bs_slo.dout.val()) << 32)
            | (bit_cast::<128, 64>(self.iv_le.val()) << 64);
        // Length block: len(A) || len(C) in bits, big-endian (output-side context).
        if self.q_flags.q.val().get_bit(1) {
            self.bs_la.din.next = (bit_cast::<64, 16>(self.q_dlen.q.val()) + 16) << 3;
            self.bs_lc.din.next = bits::<64>(0);
        } else {
            if self.q_flags.q.val().get_bit(2) {
                self.bs_la.din.next = bits::<64>(96);
            } else {
                self.bs_la.din.next = bits::<64>(64);
            }
            self.bs_lc.din.next = bit_cast::<64, 16>(self.q_dlen.q.val()) << 3;
        }

        // ------------------------------------------------------------ block datapath (output side)
        self.tok_kind.next = self.aes.out_tag.val().get_bits::<2>(128);
        self.bdata.next = self.aes.out_tag.val().get_bits::<128>(0);
        self.k16.next = self.q_cons.q.val() << 4;
        // Byte masks, trailer and pad-check count of a block depend only on the packet's
        // lengths and the block's index, so they are registered a cycle before the block
        // leaves the AES pipeline (`n_*`): from `hd_*` (the first block of the context
        // queue's head packet, registered every cycle) when E(J0) leaves, and from the
        // running lengths `r_dv`, `r_di` (minus 16 per block) when a data block leaves.
        self.bm_next.dv.next = self.r_dv.q.val() - 16;
        self.bm_next.di.next = self.r_di.q.val() - 16;
        self.bm_next.tp.next = self.q_tp.q.val();
        self.bm_next.neg_ok.next = true;
        self.bs_ks.din.next = self.aes.out_block.val();
        if self.q_flags.q.val().get_bit(1) {
            self.ks.next = bits::<128>(0);
        } else {
            self.ks.next = self.bs_ks.dout.val() & self.n_mv.q.val();
        }
        if self.q_inbound.q.val() {
            self.ct.next = self.bdata.val() & self.n_mv.q.val();
            self.pt.next = self.ct.val() ^ self.ks.val();
        } else {
            self.pt.next = (self.bdata.val() & self.n_mi.q.val()) | self.n_trail.q.val();
            self.ct.next = self.pt.val() ^ self.ks.val();
        }
        self.pt_sh_pad.next = self.pt.val() >> (((self.q_dlen.q.val() - 2) & 15) << 3);
        self.pt_sh_nh.next = self.pt.val() >> (((self.q_dlen.q.val() - 1) & 15) << 3);
        self.pt_sh_pb.next = self.pt.val() >> (((self.q_dlen.q.val() - 3) & 15) << 3);
        // Inbound pad bytes: where the plaintext stops counting up (before pad length).
        // First stage: the break positions of the block, registered (`p_brk`); second
        // stage: the last of them, folded into the packet's last break (`lastbrk_now`).
        self.pad_brk.pt.next = self.pt.val();
        self.pad_brk.prev.next = self.q_prevb.q.val();
        self.pad_brk.first.next = self.q_cons.q.val() == 0;
        self.pad_brk.count.next = self.n_pcnt.q.val();
        self.pad_last.v.next = self.p_brk.q.val();
        if self.p_valid.q.val() & self.pad_last.any.val() {
            self.lastbrk_now.next = self.p_k16.q.val() | self.pad_last.idx.val();
        } else {
            self.lastbrk_now.next = self.q_lastbrk.q.val();
        }
        // ICV of an inbound packet: 16 bytes at byte 16 + dlen, the upper part of the
        // last ciphertext word and the word the length slot carries.
        self.icv_shift.next = self.q_dlen.q.val() & 15;
        if self.icv_shift.val() == 0 {
            self.icv.next = self.bdata.val();
        } else {
            self.icv.next = (self.q_lastraw.q.val() >> (self.icv_shift.val() << 3))
                | (self.bdata.val() << ((bits::<16>(16) - self.icv_shift.val()) << 3));
        }
        // Tag of the tail's packet, byte 0 in [7:0].
        self.bs_tag.din.next = self.ghash.out_hash.val() ^ self.t_ej0.q.val();
        self.t_tag_new.next = self.bs_tag.dout.val();
        self.t_sh.next = bit_cast::<16, 4>(self.t_dlen.q.val().get_bits::<4>(0));

        // ------------------------------------------------------------ AXI4-Lite write
        self.wr_fire.next =
            self.s_axil_awvalid.val() & self.s_axil_wvalid.val() & !self.bvalid.q.val();
        self.s_axil_awready.next = self.wr_fire.val();
        self.s_axil_wready.next = self.wr_fire.val();
        self.s_axil_bvalid.next = self.bvalid.q.val();
        self.s_axil_bresp.next = bits::<2>(0);
        if self.bvalid.q.val() & self.s_axil_bready.val() {
            self.bvalid.d.next = false;
        }
        if self.wr_fire.val() {
            self.bvalid.d.next = true;
            if self.s_axil_awaddr.val() == self.o_scratch.val() {
                self.scratch.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_error_events.val() {
                self.err_clr.next = self.s_axil_wdata.val().get_bits::<5>(0);
            }
            if self.s_axil_awaddr.val() == self.o_sa_index.val() {
                self.sa_index.d.next = self.s_axil_wdata.val().get_bits::<16>(0);
            }
            if self.s_axil_awaddr.val() == self.o_sa_spi.val() {
                self.sa_spi.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_salt.val() {
                self.sa_salt.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_flags.val() {
                self.sa_flags.d.next = self.s_axil_wdata.val().get_bits::<4>(0);
            }
            if self.s_axil_awaddr.val() == self.o_sa_seq_lo.val() {
                self.sa_seq.d.next = (self.sa_seq.q.val() & self.k_hi32.val())
                    | bit_cast::<64, 32>(self.s_axil_wdata.val());
            }
            if self.s_axil_awaddr.val() == self.o_sa_seq_hi.val() {
                self.sa_seq.d.next = (self.sa_seq.q.val() & self.k_lo32.val())
                    | (bit_cast::<64, 32>(self.s_axil_wdata.val()) << 32);
            }
            if self.s_axil_awaddr.val() == self.o_sa_key0.val() {
                self.key0.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key1.val() {
                self.key1.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key2.val() {
                self.key2.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key3.val() {
                self.key3.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key4.val() {
                self.key4.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key5.val() {
                self.key5.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key6.val() {
                self.key6.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_key7.val() {
                self.key7.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_sa_cmd.val() {
                if self.cmd_pending.q.val() {
                    self.err_set.next = self.err_set.val() | bits::<5>(8);
                } else {
                    self.sa_op.d.next = self.s_axil_wdata.val().get_bits::<4>(0);
                    self.cmd_pending.d.next = true;
                    self.sa_done.d.next = false;
                    self.sa_error.d.next = false;
                }
            }
            if self.s_axil_awaddr.val() == self.o_pkt_desc.val() {
                self.pkt_desc.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_pkt_len.val() {
                self.pkt_len.d.next = self.s_axil_wdata.val().get_bits::<16>(0);
            }
            if self.s_axil_awaddr.val() == self.o_pkt_seq_hi.val() {
                self.pkt_seqhi.d.next = self.s_axil_wdata.val();
            }
            if self.s_axil_awaddr.val() == self.o_pkt_doorbell.val() {
                if self.db_pending.q.val() | self.win_active.q.val() {
                    self.err_set.next = self.err_set.val() | bits::<5>(8);
                } else if self.s_axil_wdata.val().get_bit(0) {
                    self.db_pending.d.next = true;
                    self.pkt_done.d.next = false;
                    self.res_ok.d.next = false;
                }
            }
            if (self.s_axil_awaddr.val() & self.o_out_window.val()) == self.o_in_window.val() {
                // Input window: one 32-bit lane of a buffer word.
                if self.s_axil_awaddr.val().get_bits::<2>(2) == 0 {
                    self.in_b0.write_enable.next = true;
                }
                if self.s_axil_awaddr.val().get_bits::<2>(2) == 1 {
                    self.in_b1.write_enable.next = true;
                }
                if self.s_axil_awaddr.val().get_bits::<2>(2) == 2 {
                    self.in_b2.write_enable.next = true;
                }
                if self.s_axil_awaddr.val().get_bits::<2>(2) == 3 {
                    self.in_b3.write_enable.next = true;
                }
            }
        }

        // ------------------------------------------------------------ AXI4-Lite read
        self.s_axil_arready.next = self.rstate.q.val() == 0;
        self.s_axil_rvalid.next = self.rstate.q.val() == 3;
        self.s_axil_rdata.next = self.rdata.q.val();
        self.s_axil_rresp.next = bits::<2>(0);
        self.pkt_busy.next = self.db_pending.q.val()
            | self.rx_busy.q.val()
            | self.rx_full.q.val().any()
            | self.f_cnt.q.val().any()
            | self.f_push.q.val()
            | self.inflight.q.val().any()
            | self.t_busy.q.val()
            | self.out_busy.q.val().any()
            | ((self.phase.q.val() != Phase::Idle)
                & (self.phase.q.val() != Phase::CmdLoad)
                & (self.phase.q.val() != Phase::CmdCheck)
                & (self.phase.q.val() != Phase::CmdKey)
                & (self.phase.q.val() != Phase::CmdHash)
                & (self.phase.q.val() != Phase::CmdDone));
        self.w_status.next = bits::<32>(0);
        if self.cmd_pending.q.val() {
            self.w_status.next = self.w_status.val() | 1;
        }
        if self.pkt_busy.val() {
            self.w_status.next = self.w_status.val() | 2;
        }
        self.w_sa_status.next = bit_cast::<32, 4>(self.sa_errcode.q.val()) << 8;
        if self.cmd_pending.q.val() {
            self.w_sa_status.next = self.w_sa_status.val() | 1;
        }
        if self.sa_done.q.val() {
            self.w_sa_status.next = self.w_sa_status.val() | 2;
        }
        if self.sa_error.q.val() {
            self.w_sa_status.next = self.w_sa_status.val() | 4;
        }
        if self.sa_valid.q.val() {
            self.w_sa_status.next = self.w_sa_status.val() | 8;
        }
        self.w_rb_flags.next = bit_cast::<32, 4>(self.rb_flags.q.val());
        if self.rb_valid.q.val() {
            self.w_rb_flags.next = self.w_rb_flags.val() | self.k_bit31.val();
        }
        self.w_pkt_status.next = (bit_cast::<32, 4>(self.res_verdict.q.val()) << 8)
            | (bit_cast::<32, 8>(self.res_nh.q.val()) << 16);
        if self.db_pending.q.val() | self.win_active.q.val() {
            self.w_pkt_status.next = self.w_pkt_status.val() | 1;
        } else if self.pkt_busy.val() {
            self.w_pkt_status.next = self.w_pkt_status.val() | 4;
        }
        if self.pkt_done.q.val() {
            self.w_pkt_status.next = self.w_pkt_status.val() | 2;
        }
        self.rd_value.next = bits::<32>(0);
        self.rd_snap.next = false;
        self.rd_snap_value.next = bits::<32>(0);
        if self.raddr.q.val() == self.o_id_magic.val() {
            self.rd_value.next = self.k_magic.val();
        }
        if self.raddr.q.val() == self.o_id_version.val() {
            self.rd_value.next = self.k_version.val();
        }
        if self.raddr.q.val() == self.o_id_caps.val() {
            self.rd_value.next = self.k_caps.val();
        }
        if self.raddr.q.val() == self.o_id_num_sas.val() {
            self.rd_value.next = self.k_num_sas.val();
        }
        if self.raddr.q.val() == self.o_id_datapath.val() {
            self.rd_value.next = self.k_datapath.val();
        }
        if self.raddr.q.val() == self.o_id_max_packet.val() {
            self.rd_value.next = bit_cast::<32, 16>(self.k_max_packet.val());
        }
        if self.raddr.q.val() == self.o_scratch.val() {
            self.rd_value.next = self.scratch.q.val();
        }
        if self.raddr.q.val() == self.o_status.val() {
            self.rd_value.next = self.w_status.val();
        }
        if self.raddr.q.val() == self.o_error_events.val() {
            self.rd_value.next = bit_cast::<32, 5>(self.err_events.q.val());
        }
        if self.raddr.q.val() == self.o_sa_index.val() {
            self.rd_value.next = bit_cast::<32, 16>(self.sa_index.q.val());
        }
        if self.raddr.q.val() == self.o_sa_spi.val() {
            self.rd_value.next = self.sa_spi.q.val();
        }
        if self.raddr.q.val() == self.o_sa_flags.val() {
            self.rd_value.next = bit_cast::<32, 4>(self.sa_flags.q.val());
        }
        if self.raddr.q.val() == self.o_sa_seq_lo.val() {
            self.rd_value.next = self.sa_seq.q.val().get_bits::<32>(0);
        }
        if self.raddr.q.val() == self.o_sa_seq_hi.val() {
            self.rd_value.next = self.sa_seq.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_sa_cmd_status.val() {
            self.rd_value.next = self.w_sa_status.val();
        }
        if self.raddr.q.val() == self.o_rb_spi.val() {
            self.rd_value.next = self.rb_spi.q.val();
        }
        if self.raddr.q.val() == self.o_rb_flags.val() {
            self.rd_value.next = self.w_rb_flags.val();
        }
        if self.raddr.q.val() == self.o_rb_seq_lo.val() {
            self.rd_value.next = self.rb_seq.q.val().get_bits::<32>(0);
        }
        if self.raddr.q.val() == self.o_rb_seq_hi.val() {
            self.rd_value.next = self.rb_seq.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_rb_pkts_lo.val() {
            self.rd_value.next = self.rb_pkts.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.rb_pkts.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_rb_bytes_lo.val() {
            self.rd_value.next = self.rb_bytes.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.rb_bytes.q.val().get_bits::<32>(32);
        }
        if (self.raddr.q.val() == self.o_rb_pkts_hi.val())
            | (self.raddr.q.val() == self.o_rb_bytes_hi.val())
            | (self.raddr.q.val() == self.o_cnt_out_pkts_hi.val())
            | (self.raddr.q.val() == self.o_cnt_out_bytes_hi.val())
            | (self.raddr.q.val() == self.o_cnt_in_pkts_hi.val())
            | (self.raddr.q.val() == self.o_cnt_in_bytes_hi.val())
            | (self.raddr.q.val() == self.o_cnt_auth_hi.val())
            | (self.raddr.q.val() == self.o_cnt_bad_hi.val())
        {
            self.rd_value.next = self.hi_snap.q.val();
        }
        if self.raddr.q.val() == self.o_rb_auth.val() {
            self.rd_value.next = self.rb_auth.q.val();
        }
        if self.raddr.q.val() == self.o_pkt_desc.val() {
            self.rd_value.next = self.pkt_desc.q.val();
        }
        if self.raddr.q.val() == self.o_pkt_len.val() {
            self.rd_value.next = bit_cast::<32, 16>(self.pkt_len.q.val());
        }
        if self.raddr.q.val() == self.o_pkt_seq_hi.val() {
            self.rd_value.next = self.pkt_seqhi.q.val();
        }
        if self.raddr.q.val() == self.o_pkt_status.val() {
            self.rd_value.next = self.w_pkt_status.val();
        }
        if self.raddr.q.val() == self.o_res_len.val() {
            self.rd_value.next = bit_cast::<32, 16>(self.res_len.q.val());
        }
        if self.raddr.q.val() == self.o_res_seq_lo.val() {
            self.rd_value.next = self.res_seq.q.val().get_bits::<32>(0);
        }
        if self.raddr.q.val() == self.o_res_seq_hi.val() {
            self.rd_value.next = self.res_seq.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_cnt_out_pkts_lo.val() {
            self.rd_value.next = self.cnt_out_pkts.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.cnt_out_pkts.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_cnt_out_bytes_lo.val() {
            self.rd_value.next = self.cnt_out_bytes.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.cnt_out_bytes.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_cnt_in_pkts_lo.val() {
            self.rd_value.next = self.cnt_in_pkts.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.cnt_in_pkts.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_cnt_in_bytes_lo.val() {
            self.rd_value.next = self.cnt_in_bytes.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.cnt_in_bytes.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_cnt_auth_lo.val() {
            self.rd_value.next = self.cnt_auth.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.cnt_auth.q.val().get_bits::<32>(32);
        }
        if self.raddr.q.val() == self.o_cnt_bad_lo.val() {
            self.rd_value.next = self.cnt_bad.q.val().get_bits::<32>(0);
            self.rd_snap.next = true;
            self.rd_snap_value.next = self.cnt_bad.q.val().get_bits::<32>(32);
        }
        if ((self.raddr.q.val() & self.o_out_window.val()) == self.o_out_window.val())
            & self.res_ok.q.val()
        {
            // Output window: one 32-bit lane of the buffer word read in rstate 1.
            if self.raddr.q.val().get_bits::<2>(2) == 0 {
                self.rd_value.next = self.out_a.read_data.val().get_bits::<32>(0);
            }
            if self.raddr.q.val().get_bits::<2>(2) == 1 {
                self.rd_value.next = self.out_a.read_data.val().get_bits::<32>(32);
            }
            if self.raddr.q.val().get_bits::<2>(2) == 2 {
                self.rd_value.next = self.out_a.read_data.val().get_bits::<32>(64);
            }
            if self.raddr.q.val().get_bits::<2>(2) == 3 {
                self.rd_value.next = self.out_a.read_data.val().get_bits::<32>(96);
            }
        }
        if self.rstate.q.val() == 0 {
            if self.s_axil_arvalid.val() {
                self.raddr.d.next = self.s_axil_araddr.val();
                self.rstate.d.next = bits::<2>(1);
            }
        } else if self.rstate.q.val() == 1 {
            self.rstate.d.next = bits::<2>(2);
        } else if self.rstate.q.val() == 2 {
            self.rdata.d.next = self.rd_value.val();
            if self.rd_snap.val() {
                self.hi_snap.d.next = self.rd_snap_value.val();
            }
            self.rstate.d.next = bits::<2>(3);
        } else if self.s_axil_rready.val() {
            self.rstate.d.next = bits::<2>(0);
        }

        // ------------------------------------------------------------ engine
        // ------------------------------------------------------------ issue side
        // The next stream packet is in input slot `n_slot`: `i_slot`, or the other
        // slot in the length-slot cycle of a stream packet (which frees `i_slot`).
        // Length slots are at least four cycles apart, the time the tail takes.
        self.at_len.next = (self.phase.q.val() == Phase::PktRun)
            & (self.iss.q.val() > self.nblk.q.val())
            & (self.len_gap.q.val() == 3);
        if self.at_len.val() {
            self.len_gap.d.next = bits::<2>(0);
        } else if self.len_gap.q.val() != 3 {
            self.len_gap.d.next = self.len_gap.q.val() + 1;
        }
        self.n_slot.next = self.i_slot.q.val() ^ (self.at_len.val() & self.src_stream.q.val());
        if self.n_slot.val() {
            self.rx_desc_sel.next = self.rx_desc1.q.val();
            self.i_slot_mask.next = bits::<2>(2);
        } else {
            self.rx_desc_sel.next = self.rx_desc0.q.val();
            self.i_slot_mask.next = bits::<2>(1);
        }
        self.i_full.next = (self.rx_full.q.val() & self.i_slot_mask.val()).any();
        if self.i_slot.q.val() {
            self.c_slot_mask.next = bits::<2>(2);
        } else {
            self.c_slot_mask.next = bits::<2>(1);
        }
        self.o_mask.next = bits::<4>(1) << self.o_slot.q.val();
        self.tx_mask.next = bits::<4>(1) << self.tx_slot.q.val();
        self.t_mask.next = bits::<4>(1) << self.t_oslot.q.val();
        self.f_room.next = (self.f_cnt.q.val() < 3)
            | ((self.f_cnt.q.val() == 3) & !self.f_push.q.val());
        self.f_empty.next = (self.f_cnt.q.val() == 0) & !self.f_push.q.val();
        self.cmd_go.next = self.cmd_pending.q.val()
            & !self.inflight.q.val().any()
            & self.f_empty.val()
            & !self.t_busy.q.val();
        // Take the next stream packet (from idle, or straight after the length slot of
        // the previous one) while the previous packet's E(J0) has left the pipeline
        // and a result slot is free.
        self.take.next = self.i_full.val()
            & self.f_room.val()
            & !self.win_active.q.val()
            & !self.cmd_pending.q.val()
            & !(self.out_busy.q.val() & self.o_mask.val()).any()
            & ((self.phase.q.val() == Phase::Idle) | self.at_len.val());
        match self.phase.q.val() {
            Phase::Idle => {
                if self.cmd_go.val() {
                    self.cur_idx.d.next = bit_cast::<SW, 16>(self.sa_index.q.val());
                    self.phase.d.next = Phase::CmdLoad;
                } else if !self.take.val()
                    & self.db_pending.q.val()
                    & !self.rx_busy.q.val()
                    & !self.rx_full.q.val().any()
                    & self.f_empty.val()
                    & !self.out_busy.q.val().any()
                    & !self.t_busy.q.val()
                {
                    // Window packet: input slot 0, result in output slot 0.
                    self.db_pending.d.next = false;
                    self.win_active.d.next = true;
                    self.src_stream.d.next = false;
                    self.d_index.d.next = self.pkt_desc.q.val().get_bits::<16>(0);
                    self.cur_idx.d.next = self.pkt_desc.q.val().get_bits::<SW>(0);
                    self.sa_key.read_address.next = self.pkt_desc.q.val().get_bits::<SW>(0);
                    self.sa_hkey.read_address.next = self.pkt_desc.q.val().get_bits::<SW>(0);
                    self.sa_ctx.read_address.next = self.pkt_desc.q.val().get_bits::<SW>(0);
                    self.d_inbound.d.next = self.pkt_desc.q.val().get_bit(16);
                    self.d_nh.d.next = self.pkt_desc.q.val().get_bits::<8>(24);
                    self.d_seqhi.d.next = self.pkt_seqhi.q.val();
                    self.d_len.d.next = self.pkt_len.q.val();
                    self.i_oslot.d.next = bits::<2>(0);
                    self.phase.d.next = Phase::PktCheck;
                }
            }
            Phase::PktCheck => {
                // The context is complete after this cycle: queue it next cycle.
                self.f_push.d.next = true;
                self.c_spi.d.next = self.ctx_rd.val().get_bits::<32>(0);
                self.c_salt.d.next = self.ctx_sh_salt.val().get_bits::<32>(0);
                self.c_flags.d.next = self.ctx_flags.val();
                self.hkey.d.next = self.sa_hkey.read_data.val();
                self.iv_pkt.d.next = self.din.val().get_bits::<64>(64);
                self.iss.d.next = bits::<16>(0);
                // Trailer pattern: pad bytes 1..P, P, next header.
                self.tp.d.next = (bits::<64>(0x0003_0201)
                    & ((bits::<64>(1) << (bit_cast::<64, 16>(self.pad_p.val()) << 3)) - 1))
                    | (bit_cast::<64, 16>(self.pad_p.val())
                        << (bit_cast::<64, 16>(self.pad_p.val()) << 3))
                    | (bit_cast::<64, 8>(self.d_nh.q.val())
                        << ((bit_cast::<64, 16>(self.pad_p.val()) + 1) << 3));
                if self.d_inbound.q.val() {
                    self.dlen.d.next = self.d_len.q.val() - 32;
                    self.nblk.d.next = (self.d_len.q.val() - 32 + 15) >> 4;
                    if self.ctx_flags.val().get_bit(2) {
                        self.seq_cur.d.next = (bit_cast::<64, 32>(self.d_seqhi.q.val()) << 32)
                            | bit_cast::<64, 32>(self.bs_din_slo.dout.val());
                    } else {
                        self.seq_cur.d.next = bit_cast::<64, 32>(self.bs_din_slo.dout.val());
                    }
                } else {
                    self.dlen.d.next = self.dl_out.val();
                    self.nblk.d.next = (((self.d_len.q.val() + 5) >> 2) + 3) >> 2;
                    self.seq_cur.d.next = self.ctx_seq.val() + 1;
                }
                // Checks, in order; the first failing one is the verdict. A refused
                // packet still takes the J0 and length slots (no data blocks), so
                // results leave in order.
                if self.d_index.q.val().get_bits::<6>(10).any() | !self.ctx_valid.val() {
                    self.verdict.d.next = self.v_bad_sa.val();
                    self.nblk.d.next = bits::<16>(0);
                    self.phase.d.next = Phase::PktRun;
                } else if self.ctx_flags.val().get_bit(3) != self.d_inbound.q.val() {
                    self.verdict.d.next = self.v_dir.val();
                    self.nblk.d.next = bits::<16>(0);
                    self.phase.d.next = Phase::PktRun;
                } else if (self.d_len.q.val() > self.k_max_packet.val())
                    | (self.d_inbound.q.val()
                        & ((self.d_len.q.val() < self.k_min_inbound.val())
                            | self.d_len.q.val().get_bits::<2>(0).any()))
                {
                    self.verdict.d.next = self.v_len.val();
                    self.nblk.d.next = bits::<16>(0);
                    self.phase.d.next = Phase::PktRun;
                } else if self.d_inbound.q.val()
                    & (self.bs_din_spi.dout.val() != self.ctx_rd.val().get_bits::<32>(0))
                {
                    self.verdict.d.next = self.v_spi.val();
                    self.nblk.d.next = bits::<16>(0);
                    self.phase.d.next = Phase::PktRun;
                } else if !self.d_inbound.q.val()
                    & ((self.ctx_flags.val().get_bit(2) & self.ctx_seq.val().all())
                        | (!self.ctx_flags.val().get_bit(2)
                            & (self.ctx_seq.val() >= self.k_seq32_max.val())))
                {
                    self.verdict.d.next = self.v_seq.val();
                    self.nblk.d.next = bits::<16>(0);
                    self.phase.d.next = Phase::PktRun;
                } else {
                    self.verdict.d.next = self.v_ok.val();
                    if !self.d_inbound.q.val() {
                        // The sequence number is taken now, so the next packet of
                        // the same SA reads the advanced counter.
                        self.sa_ctx.write_enable.next = true;
                        self.sa_ctx.write_data.next = (self.ctx_rd.val()
                            & !self.k_ctx_seq_mask.val())
                            | (bit_cast::<CTXW, 64>(self.ctx_seq.val() + 1)
                                << self.s_ctx_seq.val());
                    }
                    // The expanded key stays loaded while packets use the same SA.
                    if !self.kx_valid.q.val() | (self.kx_idx.q.val() != self.cur_idx.q.val()) {
                        self.chk_key.next = true;
                        self.phase.d.next = Phase::PktKey;
                    } else {
                        self.phase.d.next = Phase::PktRun;
                    }
                }
                if !self.chk_key.val() {
                    // E(J0) now (a refused packet needs no key).
                    self.aes.in_valid.next = true;
                    self.aes.in_tag.next = bits::<AES_TAG_BITS>(1) << 128;
                    self.iss.d.next = bits::<16>(1);
                    self.in_rd.next = self.i_base.val();
                    if self.i_slot.q.val() & self.src_stream.q.val() {
                        self.in_rd.next = self.in_rd.val() | 1024;
                    }
                }
            }
            Phase::PktKey => {
                // A key change waits until no block is in the AES pipeline.
                if !self.inflight.q.val().any() {
                    self.aes.key_load.next = true;
                    self.kx_valid.d.next = true;
                    self.kx_idx.d.next = self.cur_idx.q.val();
                    self.phase.d.next = Phase::PktKeyWait;
                }
            }
            Phase::PktKeyWait => {
                if self.aes.key_ready.val() {
                    self.phase.d.next = Phase::PktRun;
                }
            }
            Phase::PktRun => {
                // Slot `iss`: 0 = E(J0) (unless issued in the check cycle), 1..=nblk =
                // data block iss-1 with its input word, nblk+1 = length slot (with the
                // word after the last block). The word for slot iss+1 is read now.
                self.in_rd.next = self.i_base.val() + self.iss.q.val();
                if self.iss.q.val() > self.nblk.q.val() {
                    // Length slot: hold the last word read until the slot may go.
                    self.in_rd.next = self.i_base.val() + self.nblk.q.val();
                }
                if self.i_slot.q.val() & self.src_stream.q.val() {
                    self.in_rd.next = self.in_rd.val() | 1024;
                }
                if self.iss.q.val() == 0 {
                    self.aes.in_valid.next = true;
                    self.iss.d.next = self.iss.q.val() + 1;
                    self.aes.in_tag.next = bits::<AES_TAG_BITS>(1) << 128;
                } else if self.iss.q.val() <= self.nblk.q.val() {
                    self.aes.in_valid.next = true;
                    self.iss.d.next = self.iss.q.val() + 1;
                    self.aes.in_tag.next = (bits::<AES_TAG_BITS>(2) << 128)
                        | bit_cast::<AES_TAG_BITS, 128>(self.din.val());
                } else if self.at_len.val() {
                    self.aes.in_valid.next = true;
                    self.aes.in_tag.next = (bits::<AES_TAG_BITS>(3) << 128)
                        | bit_cast::<AES_TAG_BITS, 128>(self.din.val());
                    if self.src_stream.q.val() {
                        // The input slot is read for the last time: free it.
                        self.rx_full.d.next = self.rx_full.q.val() & !self.c_slot_mask.val();
                        self.i_slot.d.next = !self.i_slot.q.val();
                    }
                    self.phase.d.next = Phase::Idle;
                }
            }
            Phase::CmdLoad => {
                self.phase.d.next = Phase::CmdCheck;
            }
            Phase::CmdCheck => {
                // Any SA command may change the entry's key or use the AES unit.
                self.kx_valid.d.next = false;
                self.sa_errcode.d.next = bits::<4>(0);
                self.sa_valid.d.next = self.ctx_valid.val();
                if self.sa_index.q.val().get_bits::<6>(10).any() {
                    self.sa_errcode.d.next = self.e_bad_index.val();
                    self.phase.d.next = Phase::CmdDone;
                } else if (self.sa_op.q.val() == 0) | (self.sa_op.q.val() > 4) {
                    self.sa_errcode.d.next = self.e_bad_opcode.val();
                    self.phase.d.next = Phase::CmdDone;
                } else if ((self.sa_op.q.val() == 1) | (self.sa_op.q.val() == 3))
                    & self.sa_flags.q.val().get_bit(1)
                    & self.sa_flags.q.val().get_bit(2)
                {
                    self.sa_errcode.d.next = self.e_unsupported.val();
                    self.phase.d.next = Phase::CmdDone;
                } else if (self.sa_op.q.val() == 3) & !self.ctx_valid.val() {
                    self.sa_errcode.d.next = self.e_not_valid.val();
                    self.phase.d.next = Phase::CmdDone;
                } else if self.sa_op.q.val() == 1 {
                    // Install: store the raw key, expand it, then H = E_K(0).
                    self.sa_key.write_enable.next = true;
                    self.sa_key.write_data.next = self.key_le.val();
                    self.aes.key_load.next = true;
                    self.phase.d.next = Phase::CmdKey;
                } else if self.sa_op.q.val() == 2 {
                    // Remove: invalidate and wipe.
                    self.sa_key.write_enable.next = true;
                    self.sa_hkey.write_enable.next = true;
                    self.sa_ctx.write_enable.next = true;
                    self.sa_cnt.write_enable.next = true;
                    self.sa_valid.d.next = false;
                    self.phase.d.next = Phase::CmdDone;
                } else if self.sa_op.q.val() == 3 {
                    // Update: SPI, flags and counter; salt and keys stay.
                    self.sa_ctx.write_enable.next = true;
                    self.sa_ctx.write_data.next = (self.ctx_new.val()
                        & !self.k_ctx_salt_mask.val())
                        | (self.ctx_rd.val() & self.k_ctx_salt_mask.val());
                    self.phase.d.next = Phase::CmdDone;
                } else {
                    // Read back.
                    self.rb_spi.d.next = self.ctx_rd.val().get_bits::<32>(0);
                    self.rb_flags.d.next = self.ctx_flags.val();
                    self.rb_valid.d.next = self.ctx_valid.val();
                    self.rb_seq.d.next = self.ctx_seq.val();
                    self.rb_pkts.d.next = self.sa_cnt.read_data.val().get_bits::<64>(0);
                    self.rb_bytes.d.next = self.rdc_sh_bytes.val().get_bits::<64>(0);
                    self.rb_auth.d.next = self.rdc_sh_auth.val().get_bits::<32>(0);
                    self.phase.d.next = Phase::CmdDone;
                }
            }
            Phase::CmdKey => {
                if self.aes.key_ready.val() {
                    self.aes.in_valid.next = true;
                    self.phase.d.next = Phase::CmdHash;
                }
            }
            Phase::CmdHash => {
                if self.aes.out_valid.val() {
                    self.sa_hkey.write_enable.next = true;
                    self.sa_hkey.write_data.next = self.aes.out_block.val();
                    self.sa_ctx.write_enable.next = true;
                    self.sa_ctx.write_data.next = self.ctx_new.val();
                    self.sa_cnt.write_enable.next = true;
                    self.sa_valid.d.next = true;
                    self.phase.d.next = Phase::CmdDone;
                }
            }
            Phase::CmdDone => {
                // Key material leaves the staging registers once used.
                self.key0.d.next = bits::<32>(0);
                self.key1.d.next = bits::<32>(0);
                self.key2.d.next = bits::<32>(0);
                self.key3.d.next = bits::<32>(0);
                self.key4.d.next = bits::<32>(0);
                self.key5.d.next = bits::<32>(0);
                self.key6.d.next = bits::<32>(0);
                self.key7.d.next = bits::<32>(0);
                self.sa_salt.d.next = bits::<32>(0);
                self.cmd_pending.d.next = false;
                self.sa_done.d.next = true;
                self.sa_error.d.next = self.sa_errcode.q.val().any();
                if self.sa_errcode.q.val().any() {
                    self.err_set.next = self.err_set.val() | bits::<5>(4);
                }
                self.phase.d.next = Phase::Idle;
            }
        }
        if self.take.val() {
            // A whole stream packet is in input slot `n_slot`: read its SA entry and
            // its first word now.
            self.src_stream.d.next = true;
            self.d_index.d.next = self.rx_desc_sel.val().get_bits::<16>(0);
            self.cur_idx.d.next = self.rx_desc_sel.val().get_bits::<SW>(0);
            self.sa_key.read_address.next = self.rx_desc_sel.val().get_bits::<SW>(0);
            self.sa_hkey.read_address.next = self.rx_desc_sel.val().get_bits::<SW>(0);
            self.sa_ctx.read_address.next = self.rx_desc_sel.val().get_bits::<SW>(0);
            self.d_inbound.d.next = self.rx_desc_sel.val().get_bit(16);
            self.d_nh.d.next = self.rx_desc_sel.val().get_bits::<8>(24);
            self.d_seqhi.d.next = self.rx_desc_sel.val().get_bits::<32>(32);
            self.d_len.d.next = self.rx_desc_sel.val().get_bits::<16>(64);
            if self.n_slot.val() {
                self.in_rd.next = bits::<16>(1024);
            } else {
                self.in_rd.next = bits::<16>(0);
            }
            self.i_oslot.d.next = self.o_slot.q.val();
            self.out_busy.d.next = self.out_busy.q.val() | self.o_mask.val();
            self.o_slot.d.next = self.o_slot.q.val() + 1;
            self.phase.d.next = Phase::PktCheck;
        }

        // ------------------------------------------------------------ AES pipeline occupancy
        if self.aes.in_valid.val() & !self.aes.out_valid.val() {
            self.inflight.d.next = self.inflight.q.val() + 1;
        } else if !self.aes.in_valid.val() & self.aes.out_valid.val() {
            self.inflight.d.next = self.inflight.q.val() - 1;
        }

        // ------------------------------------------------------------ context queue
        // The packet context the output side needs, written the cycle after the check
        // and read when the packet's E(J0) leaves the AES pipeline: two entries, so the
        // issue side can start the next packet while E(J0) is still in flight.
        if self.f_rd.q.val() == 0 {
            self.f_head.next = self.fq0.q.val();
        } else if self.f_rd.q.val() == 1 {
            self.f_head.next = self.fq1.q.val();
        } else if self.f_rd.q.val() == 2 {
            self.f_head.next = self.fq2.q.val();
        } else {
            self.f_head.next = self.fq3.q.val();
        }
        // First block of the head packet (see the block datapath above).
        self.bm_head.dv.next = self.f_head.val().get_bits::<16>(5);
        self.bm_head.di.next = self.f_head.val().get_bits::<16>(21);
        self.bm_head.tp.next = self.f_head.val().get_bits::<64>(37);
        self.bm_head.neg_ok.next = false;
        self.hd_mv.d.next = self.bm_head.mv.val();
        self.hd_mi.d.next = self.bm_head.mi.val();
        self.hd_trail.d.next = self.bm_head.trail.val();
        self.hd_pcnt.d.next = self.bm_head.pcnt.val();
        self.hd_last.d.next = self.bm_head.last.val();
        self.f_word.next = (bit_cast::<FQW, 4>(self.c_flags.q.val()) << 1)
            | (bit_cast::<FQW, 16>(self.dlen.q.val()) << 5)
            | (bit_cast::<FQW, 16>(self.d_len.q.val()) << 21)
            | (bit_cast::<FQW, 64>(self.tp.q.val()) << 37)
            | (bit_cast::<FQW, 128>(self.hkey.q.val()) << 101)
            | (bit_cast::<FQW, 64>(self.seq_cur.q.val()) << 229)
            | (bit_cast::<FQW, 16>(self.d_index.q.val()) << 293)
            | (bit_cast::<FQW, 4>(self.verdict.q.val()) << 309)
            | (bit_cast::<FQW, 2>(self.i_oslot.q.val()) << 313)
            | (bit_cast::<FQW, 8>(self.d_nh.q.val()) << 316)
            | (bit_cast::<FQW, 128>(self.aad_le.val()) << 324)
            | (bit_cast::<FQW, 128>(self.hdr_word.val()) << 452);
        if self.src_stream.q.val() {
            self.f_word.next = self.f_word.val() | (bits::<FQW>(1) << 315);
        }
        if self.d_inbound.q.val() {
            self.f_word.next = self.f_word.val() | 1;
        }
        if self.f_push.q.val() {
            if self.f_wr.q.val() == 0 {
                self.fq0.d.next = self.f_word.val();
            }
            if self.f_wr.q.val() == 1 {
                self.fq1.d.next = self.f_word.val();
            }
            if self.f_wr.q.val() == 2 {
                self.fq2.d.next = self.f_word.val();
            }
            if self.f_wr.q.val() == 3 {
                self.fq3.d.next = self.f_word.val();
            }
            self.f_wr.d.next = self.f_wr.q.val() + 1;
        }

        // ------------------------------------------------------------ output side
        // GHASH input, registered once before the multiplier.
        self.bs_gh.din.next = self.ct.val();
        self.gq_block.d.next = self.bs_gh.dout.val();
        self.gq_h.d.next = self.q_hkey.q.val();
        self.p_valid.d.next = false;
        self.q_lastbrk.d.next = self.lastbrk_now.val();
        if self.aes.out_valid.val() & (self.tok_kind.val() == 1) {
            self.n_mv.d.next = self.hd_mv.q.val();
            self.n_mi.d.next = self.hd_mi.q.val();
            self.n_trail.d.next = self.hd_trail.q.val();
            self.n_pcnt.d.next = self.hd_pcnt.q.val();
            self.n_last.d.next = self.hd_last.q.val();
            self.r_dv.d.next = self.f_head.val().get_bits::<16>(5);
            self.r_di.d.next = self.f_head.val().get_bits::<16>(21);
            // E(J0): the oldest issued packet's context becomes the output side's.
            self.f_pop.next = true;
            self.q_inbound.d.next = self.f_head.val().get_bit(0);
            self.q_flags.d.next = self.f_head.val().get_bits::<4>(1);
            self.q_dlen.d.next = self.f_head.val().get_bits::<16>(5);
            self.q_dl.d.next = self.f_head.val().get_bits::<16>(21);
            self.q_tp.d.next = self.f_head.val().get_bits::<64>(37);
            self.q_hkey.d.next = self.f_head.val().get_bits::<128>(101);
            self.q_seq.d.next = self.f_head.val().get_bits::<64>(229);
            self.q_index.d.next = self.f_head.val().get_bits::<16>(293);
            self.q_verdict.d.next = self.f_head.val().get_bits::<4>(309);
            self.q_oslot.d.next = self.f_head.val().get_bits::<2>(313);
            self.q_stream.d.next = self.f_head.val().get_bit(315);
            self.q_ej0.d.next = self.aes.out_block.val();
            self.q_cons.d.next = bits::<16>(0);
            self.q_rxnh.d.next = self.f_head.val().get_bits::<8>(316);
            self.q_padlen.d.next = bits::<8>(0);
            self.q_lastbrk.d.next = bits::<16>(0);
            // AAD block first into GHASH.
            self.bs_gh.din.next = self.f_head.val().get_bits::<128>(324);
            self.gq_valid.d.next = true;
            self.gq_h.d.next = self.f_head.val().get_bits::<128>(101);
            self.f_oslot.next = self.f_head.val().get_bits::<2>(313);
            if !self.f_head.val().get_bit(0) {
                if self.f_oslot.val().get_bit(0) {
                    self.out_b.write_enable.next = true;
                    self.out_b.write_address.next =
                        bit_cast::<IBW, 2>(self.f_oslot.val() >> 1) << 10;
                    self.out_b.write_data.next = self.f_head.val().get_bits::<128>(452);
                } else {
                    self.out_a.write_enable.next = true;
                    self.out_a.write_address.next =
                        bit_cast::<IBW, 2>(self.f_oslot.val() >> 1) << 10;
                    self.out_a.write_data.next = self.f_head.val().get_bits::<128>(452);
                }
            }
        }
        if self.aes.out_valid.val() & (self.tok_kind.val() == 2) {
            // A data block meets its keystream.
            self.gq_valid.d.next = true;
            self.q_cons.d.next = self.q_cons.q.val() + 1;
            self.n_mv.d.next = self.bm_next.mv.val();
            self.n_mi.d.next = self.bm_next.mi.val();
            self.n_trail.d.next = self.bm_next.trail.val();
            self.n_pcnt.d.next = self.bm_next.pcnt.val();
            self.n_last.d.next = self.bm_next.last.val();
            self.r_dv.d.next = self.r_dv.q.val() - 16;
            self.r_di.d.next = self.r_di.q.val() - 16;
            self.q_last_ct.d.next = self.ct.val();
            self.q_lastraw.d.next = self.bdata.val();
            if self.q_inbound.q.val() {
                self.out_wa.next = bit_cast::<IBW, 16>(self.q_cons.q.val());
                self.out_wd.next = self.pt.val();
                if self.n_last.q.val() {
                    self.q_padlen.d.next = self.pt_sh_pad.val().get_bits::<8>(0);
                    self.q_rxnh.d.next = self.pt_sh_nh.val().get_bits::<8>(0);
                    self.q_pbyte.d.next = self.pt_sh_pb.val().get_bits::<8>(0);
                }
                self.q_prevb.d.next = self.pt.val().get_bits::<8>(120);
                self.p_valid.d.next = true;
                self.p_brk.d.next = self.pad_brk.brk.val();
                self.p_k16.d.next = self.k16.val();
            } else {
                self.out_wa.next = bit_cast::<IBW, 16>(self.q_cons.q.val() + 1);
                self.out_wd.next = self.ct.val();
            }
            self.out_wa.next = self.out_wa.val()
                | (bit_cast::<IBW, 2>(self.q_oslot.q.val() >> 1) << 10);
            if self.q_oslot.q.val().get_bit(0) {
                self.out_b.write_enable.next = true;
                self.out_b.write_address.next = self.out_wa.val();
                self.out_b.write_data.next = self.out_wd.val();
            } else {
                self.out_a.write_enable.next = true;
                self.out_a.write_address.next = self.out_wa.val();
                self.out_a.write_data.next = self.out_wd.val();
            }
        }
        if self.aes.out_valid.val() & (self.tok_kind.val() == 3) {
            // Length slot: the length block closes the GHASH message; the packet
            // moves to the tail.
            self.bs_gh.din.next = bit_cast::<128, 64>(self.bs_la.dout.val())
                | (bit_cast::<128, 64>(self.bs_lc.dout.val()) << 64);
            self.gq_valid.d.next = true;
            self.gq_last.d.next = true;
            self.t_busy.d.next = true;
            self.t_step.d.next = false;
            self.t_inbound.d.next = self.q_inbound.q.val();
            self.t_dlen.d.next = self.q_dlen.q.val();
            self.t_dl.d.next = self.q_dl.q.val();
            self.t_nblk.d.next = self.q_cons.q.val();
            self.t_ej0.d.next = self.q_ej0.q.val();
            self.t_seq.d.next = self.q_seq.q.val();
            self.t_nh.d.next = self.q_rxnh.q.val();
            self.t_padlen.d.next = self.q_padlen.q.val();
            self.t_index.d.next = self.q_index.q.val();
            self.t_verdict.d.next = self.q_verdict.q.val();
            self.t_oslot.d.next = self.q_oslot.q.val();
            self.t_stream.d.next = self.q_stream.q.val();
            self.t_last_ct.d.next = self.q_last_ct.q.val();
            self.t_icv.d.next = self.icv.val();
            self.t_lastbrk.d.next = self.lastbrk_now.val();
            self.t_pbyte.d.next = self.q_pbyte.q.val();
            self.sa_cnt.read_address.next = self.q_index.q.val().get_bits::<SW>(0);
        }

        if self.f_pop.val() {
            self.f_rd.d.next = self.f_rd.q.val() + 1;
        }
        if self.f_push.q.val() & !self.f_pop.val() {
            self.f_cnt.d.next = self.f_cnt.q.val() + 1;
        } else if !self.f_push.q.val() & self.f_pop.val() {
            self.f_cnt.d.next = self.f_cnt.q.val() - 1;
        }

        // ------------------------------------------------------------ tail
        self.pad_len_calc.next = bit_cast::<16, 8>(self.t_padlen.q.val()) + 2;
        // RFC 4303 padding: the P bytes before the pad length are 1, 2, .., P, i.e. no
        // break in the run after the pad's first byte and the last pad byte is P.
        self.pad_s.next = self.t_dlen.q.val() - self.pad_len_calc.val();
        self.pad_ok.next = (self.t_padlen.q.val() == 0)
            | ((self.t_lastbrk.q.val() <= self.pad_s.val())
                & (self.t_pbyte.q.val() == self.t_padlen.q.val()));
        self.t_tuser.next = bit_cast::<MUW, 4>(self.t_verdict.q.val())
            | (bit_cast::<MUW, 8>(self.t_nh.q.val()) << 8)
            | (bit_cast::<MUW, 16>(self.t_index.q.val()) << 16)
            | (bit_cast::<MUW, 64>(self.t_seq.q.val()) << 32);
        if self.t_inbound.q.val() {
            self.t_tuser.next = self.t_tuser.val() | 16;
        }
        self.t_wa.next = bit_cast::<IBW, 2>(self.t_oslot.q.val() >> 1) << 10;
        if self.t_busy.q.val() & !self.t_step.q.val() & self.ghash.out_last.val() {
            // The GHASH of the packet is done: tag, then ICV compare or ICV write.
            self.t_step.d.next = true;
            self.t_tag.d.next = self.t_tag_new.val();
            self.t_rlen.d.next = bits::<16>(0);
            if self.t_verdict.q.val() == self.v_ok.val() {
                if self.t_inbound.q.val() {
                    if self.t_icv.q.val() != self.t_tag_new.val() {
                        self.t_verdict.d.next = self.v_auth.val();
                    } else if (self.pad_len_calc.val() > self.t_dlen.q.val())
                        | !self.pad_ok.val()
                    {
                        self.t_verdict.d.next = self.v_trailer.val();
                    } else {
                        self.t_rlen.d.next = self.t_dlen.q.val() - self.pad_len_calc.val();
                    }
                } else {
                    self.t_rlen.d.next = self.t_dlen.q.val() + 32;
                    self.t_we.next = true;
                    if self.t_sh.val().any() {
                        self.t_wa.next = self.t_wa.val() | bit_cast::<IBW, 16>(self.t_nblk.q.val());
                        self.t_wd.next =
                            self.t_last_ct.q.val() | (self.t_tag_new.val() << (self.t_sh.val() << 3));
                    } else {
                        self.t_wa.next =
                            self.t_wa.val() | bit_cast::<IBW, 16>(self.t_nblk.q.val() + 1);
                        self.t_wd.next = self.t_tag_new.val();
                    }
                }
            }
        }
        if self.t_busy.q.val() & self.t_step.q.val() {
            // Second ICV word, counters, per-SA counters, result.
            self.t_busy.d.next = false;
            if !self.t_inbound.q.val()
                & (self.t_verdict.q.val() == self.v_ok.val())
                & self.t_sh.val().any()
            {
                self.t_we.next = true;
                self.t_wa.next = self.t_wa.val() | bit_cast::<IBW, 16>(self.t_nblk.q.val() + 1);
                self.t_wd.next =
                    self.t_tag.q.val() >> ((bits::<16>(16) - self.t_sh.val()) << 3);
            }
            self.sa_cnt.write_address.next = self.t_index.q.val().get_bits::<SW>(0);
            if self.t_verdict.q.val() == self.v_ok.val() {
                if self.t_inbound.q.val() {
                    self.cnt_in_pkts.d.next = self.cnt_in_pkts.q.val() + 1;
                    self.cnt_in_bytes.d.next =
                        self.cnt_in_bytes.q.val() + bit_cast::<64, 16>(self.t_dl.q.val());
                } else {
                    self.cnt_out_pkts.d.next = self.cnt_out_pkts.q.val() + 1;
                    self.cnt_out_bytes.d.next =
                        self.cnt_out_bytes.q.val() + bit_cast::<64, 16>(self.t_dl.q.val());
                }
                self.sa_cnt.write_enable.next = true;
                self.sa_cnt.write_data.next = (self.cnt_rd.val() & self.k_cnt_auth_mask.val())
                    | bit_cast::<CNTW, 64>(self.cnt_rd.val().get_bits::<64>(0) + 1)
                    | (bit_cast::<CNTW, 64>(
                        self.cnt_sh_bytes.val().get_bits::<64>(0)
                            + bit_cast::<64, 16>(self.t_dl.q.val()),
                    ) << self.s_cnt_bytes.val());
            } else if self.t_verdict.q.val() == self.v_auth.val() {
                self.cnt_auth.d.next = self.cnt_auth.q.val() + 1;
                self.err_set.next = self.err_set.val() | bits::<5>(2);
                if !self.cnt_sh_auth.val().get_bits::<32>(0).all() {
                    self.sa_cnt.write_enable.next = true;
                    self.sa_cnt.write_data.next =
                        self.cnt_rd.val() + (bits::<CNTW>(1) << self.s_cnt_auth.val());
                }
            } else if self.t_verdict.q.val() == self.v_seq.val() {
                self.err_set.next = self.err_set.val() | bits::<5>(16);
            } else if self.t_verdict.q.val() != self.v_trailer.val() {
                self.cnt_bad.d.next = self.cnt_bad.q.val() + 1;
                self.err_set.next = self.err_set.val() | bits::<5>(1);
            }
            if self.t_stream.q.val() {
                // Hand the result slot to the sender.
                self.s_rdy.d.next = self.s_rdy.q.val() | (self.t_mask.val());
                if self.t_oslot.q.val() == 0 {
                    self.s_rlen0.d.next = self.t_rlen.q.val();
                    self.s_tuser0.d.next = self.t_tuser.val();
                }
                if self.t_oslot.q.val() == 1 {
                    self.s_rlen1.d.next = self.t_rlen.q.val();
                    self.s_tuser1.d.next = self.t_tuser.val();
                }
                if self.t_oslot.q.val() == 2 {
                    self.s_rlen2.d.next = self.t_rlen.q.val();
                    self.s_tuser2.d.next = self.t_tuser.val();
                }
                if self.t_oslot.q.val() == 3 {
                    self.s_rlen3.d.next = self.t_rlen.q.val();
                    self.s_tuser3.d.next = self.t_tuser.val();
                }
            } else {
                self.win_active.d.next = false;
                self.pkt_done.d.next = true;
                self.res_verdict.d.next = self.t_verdict.q.val();
                self.res_nh.d.next = self.t_nh.q.val();
                self.res_seq.d.next = self.t_seq.q.val();
                self.res_len.d.next = self.t_rlen.q.val();
                self.res_ok.d.next = self.t_verdict.q.val() == self.v_ok.val();
            }
        }
        if self.t_we.val() {
            if self.t_oslot.q.val().get_bit(0) {
                self.out_b.write_enable.next = true;
                self.out_b.write_address.next = self.t_wa.val();
                self.out_b.write_data.next = self.t_wd.val();
            } else {
                self.out_a.write_enable.next = true;
                self.out_a.write_address.next = self.t_wa.val();
                self.out_a.write_data.next = self.t_wd.val();
            }
        }

        // ------------------------------------------------------------ stream send
        if self.tx_slot.q.val() == 0 {
            self.tx_rlen.next = self.s_rlen0.q.val();
            self.tx_tuser.next = self.s_tuser0.q.val();
        } else if self.tx_slot.q.val() == 1 {
            self.tx_rlen.next = self.s_rlen1.q.val();
            self.tx_tuser.next = self.s_tuser1.q.val();
        } else if self.tx_slot.q.val() == 2 {
            self.tx_rlen.next = self.s_rlen2.q.val();
            self.tx_tuser.next = self.s_tuser2.q.val();
        } else {
            self.tx_rlen.next = self.s_rlen3.q.val();
            self.tx_tuser.next = self.s_tuser3.q.val();
        }
        if self.tx_slot.q.val().get_bit(0) {
            self.tx_data.next = self.out_b.read_data.val();
        } else {
            self.tx_data.next = self.out_a.read_data.val();
        }
        self.tx_keep.count.next = self.tx_rlen.val() - (self.tx_w.q.val() << 4);
        self.tx_addr.next = self.tx_w.q.val();
        self.tx_rslot.next = self.tx_slot.q.val();
        self.tx_next_mask.next = bits::<4>(1) << (self.tx_slot.q.val() + 1);
        if !self.tx_active.q.val() {
            if (self.s_rdy.q.val() & self.tx_mask.val()).any() {
                self.tx_active.d.next = true;
                self.tx_w.d.next = bits::<16>(0);
                self.tx_addr.next = bits::<16>(0);
            }
        } else {
            self.m_axis_tvalid.next = true;
            self.m_axis_tuser.next = self.tx_tuser.val();
            if self.tx_rlen.val() == 0 {
                // Refused, failed or empty: one beat with no bytes.
                self.m_axis_tlast.next = true;
                self.tx_done.next = self.m_axis_tready.val();
            } else {
                self.m_axis_tdata.next = self.tx_data.val();
                self.m_axis_tkeep.next = self.tx_keep.keep.val();
                self.m_axis_tlast.next = self.tx_w.q.val() == ((self.tx_rlen.val() - 1) >> 4);
                if self.m_axis_tready.val() {
                    self.tx_addr.next = self.tx_w.q.val() + 1;
                    self.tx_w.d.next = self.tx_w.q.val() + 1;
                    self.tx_done.next = self.m_axis_tlast.val();
                }
            }
            if self.tx_done.val() {
                self.s_rdy.d.next = self.s_rdy.d.val() & !(self.tx_mask.val());
                self.out_busy.d.next = self.out_busy.d.val() & !(self.tx_mask.val());
                self.tx_slot.d.next = self.tx_slot.q.val() + 1;
                self.tx_rslot.next = self.tx_slot.q.val() + 1;
                // The next result, if ready, follows without a gap.
                self.tx_w.d.next = bits::<16>(0);
                self.tx_addr.next = bits::<16>(0);
                self.tx_active.d.next = (self.s_rdy.q.val() & self.tx_next_mask.val()).any();
            }
        }
        if self.tx_active.q.val() | (self.s_rdy.q.val() & self.tx_mask.val()).any() {
            self.out_a.read_address.next = (bit_cast::<IBW, 2>(self.tx_rslot.val() >> 1) << 10)
                | bit_cast::<IBW, 16>(self.tx_addr.val() & (self.k_buf_words.val() - 1));
            self.out_b.read_address.next = (bit_cast::<IBW, 2>(self.tx_rslot.val() >> 1) << 10)
                | bit_cast::<IBW, 16>(self.tx_addr.val() & (self.k_buf_words.val() - 1));
        } else {
            // Output window: result slot 0.
            self.out_a.read_address.next = bit_cast::<IBW, 16>(self.out_rd.val());
            self.out_b.read_address.next = bit_cast::<IBW, 16>(self.out_rd.val());
        }

        // ------------------------------------------------------------ stream receive
        // A stream packet is received into input slot `rx_wslot` while the issue side
        // reads the other slot; a slot is free again once its last word was issued.
        if self.rx_wslot.q.val() {
            self.rx_slot_mask.next = bits::<2>(2);
        } else {
            self.rx_slot_mask.next = bits::<2>(1);
        }
        self.rx_allowed.next = !(self.rx_full.q.val() & self.rx_slot_mask.val()).any()
            & (self.rx_busy.q.val() | !(self.db_pending.q.val() | self.win_active.q.val()));
        // An input-window write through the register port has the buffer this cycle.
        self.in_win_wr.next = self.wr_fire.val()
            & ((self.s_axil_awaddr.val() & self.o_out_window.val()) == self.o_in_window.val());
        self.s_axis_tready.next = self.rx_allowed.val() & !self.in_win_wr.val();
        self.rx_fire.next = self.s_axis_tready.val() & self.s_axis_tvalid.val();
        if self.rx_busy.q.val() {
            self.rx_addr.next = self.rx_words.q.val();
            self.rx_base.next = self.rx_bytes.q.val();
        } else {
            self.rx_addr.next = bits::<16>(0);
            self.rx_base.next = bits::<16>(0);
        }
        if self.rx_addr.val() < self.k_buf_words.val() {
            self.rx_len_now.next = self.rx_base.val() + self.keep_cnt.count.val();
        } else {
            self.rx_len_now.next = bits::<16>(0xffff);
        }
        if self.rx_fire.val() {
            if !self.rx_busy.q.val() {
                self.rx_index.d.next = self.s_axis_tuser.val().get_bits::<16>(0);
                self.rx_inbound.d.next = self.s_axis_tuser.val().get_bit(16);
                self.rx_nhd.d.next = self.s_axis_tuser.val().get_bits::<8>(24);
                self.rx_seqhi.d.next = self.s_axis_tuser.val().get_bits::<32>(32);
                self.rx_cur_desc.next = bit_cast::<80, 16>(self.s_axis_tuser.val().get_bits::<16>(0))
                    | (bit_cast::<80, 8>(self.s_axis_tuser.val().get_bits::<8>(24)) << 24)
                    | (bit_cast::<80, 32>(self.s_axis_tuser.val().get_bits::<32>(32)) << 32);
                if self.s_axis_tuser.val().get_bit(16) {
                    self.rx_cur_desc.next = self.rx_cur_desc.val() | (bits::<80>(1) << 16);
                }
            } else {
                self.rx_cur_desc.next = bit_cast::<80, 16>(self.rx_index.q.val())
                    | (bit_cast::<80, 8>(self.rx_nhd.q.val()) << 24)
                    | (bit_cast::<80, 32>(self.rx_seqhi.q.val()) << 32);
                if self.rx_inbound.q.val() {
                    self.rx_cur_desc.next = self.rx_cur_desc.val() | (bits::<80>(1) << 16);
                }
            }
            self.rx_busy.d.next = true;
            self.rx_waddr.next = bit_cast::<IBW, 16>(self.rx_addr.val() & (self.k_buf_words.val() - 1));
            if self.rx_wslot.q.val() {
                self.rx_waddr.next = self.rx_waddr.val() | (bits::<IBW>(1) << 10);
            }
            self.in_b0.write_address.next = self.rx_waddr.val();
            self.in_b1.write_address.next = self.rx_waddr.val();
            self.in_b2.write_address.next = self.rx_waddr.val();
            self.in_b3.write_address.next = self.rx_waddr.val();
            self.in_b0.write_data.next = self.s_axis_tdata.val().get_bits::<32>(0);
            self.in_b1.write_data.next = self.s_axis_tdata.val().get_bits::<32>(32);
            self.in_b2.write_data.next = self.s_axis_tdata.val().get_bits::<32>(64);
            self.in_b3.write_data.next = self.s_axis_tdata.val().get_bits::<32>(96);
            if self.rx_addr.val() < self.k_buf_words.val() {
                self.in_b0.write_enable.next = true;
                self.in_b1.write_enable.next = true;
                self.in_b2.write_enable.next = true;
                self.in_b3.write_enable.next = true;
                self.rx_words.d.next = self.rx_addr.val() + 1;
                self.rx_bytes.d.next = self.rx_len_now.val();
            } else {
                // Longer than the buffer: keep draining, report it too long.
                self.rx_words.d.next = self.rx_addr.val();
                self.rx_bytes.d.next = bits::<16>(0xffff);
            }
            if self.s_axis_tlast.val() {
                self.rx_cur_desc.next =
                    self.rx_cur_desc.val() | (bit_cast::<80, 16>(self.rx_len_now.val()) << 64);
                if self.rx_wslot.q.val() {
                    self.rx_desc1.d.next = self.rx_cur_desc.val();
                } else {
                    self.rx_desc0.d.next = self.rx_cur_desc.val();
                }
                self.rx_busy.d.next = false;
                self.rx_full.d.next = self.rx_full.d.val() | self.rx_slot_mask.val();
                self.rx_wslot.d.next = !self.rx_wslot.q.val();
            }
        }
        // Buffer read addresses.
        self.in_b0.read_address.next = bit_cast::<IBW, 16>(self.in_rd.val());
        self.in_b1.read_address.next = bit_cast::<IBW, 16>(self.in_rd.val());
        self.in_b2.read_address.next = bit_cast::<IBW, 16>(self.in_rd.val());
        self.in_b3.read_address.next = bit_cast::<IBW, 16>(self.in_rd.val());
        // Sticky events.
        self.err_events.d.next =
            (self.err_events.q.val() & !self.err_clr.val()) | self.err_set.val();

        // ------------------------------------------------------------ reset
        if self.reset.val() {
            self.phase.d.next = Phase::Idle;
            self.kx_valid.d.next = false;
            self.rx_busy.d.next = false;
            self.rx_full.d.next = bits::<2>(0);
            self.rx_wslot.d.next = false;
            self.i_slot.d.next = false;
            self.f_push.d.next = false;
            self.f_cnt.d.next = bits::<3>(0);
            self.f_rd.d.next = bits::<2>(0);
            self.f_wr.d.next = bits::<2>(0);
            self.inflight.d.next = bits::<6>(0);
            self.o_slot.d.next = bits::<2>(0);
            self.out_busy.d.next = bits::<4>(0);
            self.t_busy.d.next = false;
            self.p_valid.d.next = false;
            self.tx_active.d.next = false;
            self.tx_slot.d.next = bits::<2>(0);
            self.s_rdy.d.next = bits::<4>(0);
            self.bvalid.d.next = false;
            self.rstate.d.next = bits::<2>(0);
            self.cmd_pending.d.next = false;
            self.db_pending.d.next = false;
            self.win_active.d.next = false;
            self.pkt_done.d.next = false;
            self.sa_done.d.next = false;
            self.sa_error.d.next = false;
            self.res_ok.d.next = false;
            self.err_events.d.next = bits::<5>(0);
            self.scratch.d.next = bits::<32>(0);
            self.cnt_out_pkts.d.next = bits::<64>(0);
            self.cnt_out_bytes.d.next = bits::<64>(0);
            self.cnt_in_pkts.d.next = bits::<64>(0);
            self.cnt_in_bytes.d.next = bits::<64>(0);
            self.cnt_auth.d.next = bits::<64>(0);
            self.cnt_bad.d.next = bits::<64>(0);
        }
    }
}
