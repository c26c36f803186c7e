// A stand-in for the generated core with the same top-level ports (see the
// project's cross-crate contract): an AXI4-Lite register file of 64 words that
// reads back what was written, and an AXI4-Stream passthrough with a one-deep
// skid buffer that copies the first beat's tuser into the output side-band.
// Used only to prove the Verilator flow (build SIM_RTL=sim/testdata/echo_top.v).
module top (
    input  wire         clock,
    input  wire         reset,
    input  wire [15:0]  s_axil_awaddr,
    input  wire         s_axil_awvalid,
    output wire         s_axil_awready,
    input  wire [31:0]  s_axil_wdata,
    input  wire         s_axil_wvalid,
    output wire         s_axil_wready,
    output wire [1:0]   s_axil_bresp,
    output reg          s_axil_bvalid,
    input  wire         s_axil_bready,
    input  wire [15:0]  s_axil_araddr,
    input  wire         s_axil_arvalid,
    output wire         s_axil_arready,
    output reg  [31:0]  s_axil_rdata,
    output wire [1:0]   s_axil_rresp,
    output reg          s_axil_rvalid,
    input  wire         s_axil_rready,
    input  wire [127:0] s_axis_tdata,
    input  wire [15:0]  s_axis_tkeep,
    input  wire         s_axis_tlast,
    input  wire         s_axis_tvalid,
    output wire         s_axis_tready,
    input  wire [63:0]  s_axis_tuser,
    output reg  [127:0] m_axis_tdata,
    output reg  [15:0]  m_axis_tkeep,
    output reg          m_axis_tlast,
    output reg          m_axis_tvalid,
    input  wire         m_axis_tready,
    output reg  [63:0]  m_axis_tuser,
    // The DMA bus master and interrupt lines of layout 2: the stand-in never
    // starts a transfer, so it drives every request low and accepts nothing.
    output wire [47:0]  m_axi_araddr,
    output wire [7:0]   m_axi_arlen,
    output wire [2:0]   m_axi_arsize,
    output wire [1:0]   m_axi_arburst,
    output wire         m_axi_arvalid,
    input  wire         m_axi_arready,
    input  wire [127:0] m_axi_rdata,
    input  wire [1:0]   m_axi_rresp,
    input  wire         m_axi_rlast,
    input  wire         m_axi_rvalid,
    output wire         m_axi_rready,
    output wire [47:0]  m_axi_awaddr,
    output wire [7:0]   m_axi_awlen,
    output wire [2:0]   m_axi_awsize,
    output wire [1:0]   m_axi_awburst,
    output wire         m_axi_awvalid,
    input  wire         m_axi_awready,
    output wire [127:0] m_axi_wdata,
    output wire [15:0]  m_axi_wstrb,
    output wire         m_axi_wlast,
    output wire         m_axi_wvalid,
    input  wire         m_axi_wready,
    input  wire [1:0]   m_axi_bresp,
    input  wire         m_axi_bvalid,
    output wire         m_axi_bready,
    output wire [3:0]   irq
);
    assign m_axi_araddr = 48'd0;
    assign m_axi_arlen = 8'd0;
    assign m_axi_arsize = 3'd4;
    assign m_axi_arburst = 2'd1;
    assign m_axi_arvalid = 1'b0;
    assign m_axi_rready = 1'b0;
    assign m_axi_awaddr = 48'd0;
    assign m_axi_awlen = 8'd0;
    assign m_axi_awsize = 3'd4;
    assign m_axi_awburst = 2'd1;
    assign m_axi_awvalid = 1'b0;
    assign m_axi_wdata = 128'd0;
    assign m_axi_wstrb = 16'd0;
    assign m_axi_wlast = 1'b0;
    assign m_axi_wvalid = 1'b0;
    assign m_axi_bready = 1'b0;
    assign irq = 4'd0;

    reg [31:0] regs [0:63];
    wire write_go = s_axil_awvalid && s_axil_wvalid && !s_axil_bvalid;
    assign s_axil_awready = write_go;
    assign s_axil_wready  = write_go;
    assign s_axil_bresp   = 2'b00;
    assign s_axil_arready = !s_axil_rvalid;
    assign s_axil_rresp   = 2'b00;
    always @(posedge clock) begin
        if (reset) begin
            s_axil_bvalid <= 1'b0;
            s_axil_rvalid <= 1'b0;
            s_axil_rdata  <= 32'd0;
        end else begin
            if (write_go) begin
                regs[s_axil_awaddr[7:2]] <= s_axil_wdata;
                s_axil_bvalid <= 1'b1;
            end else if (s_axil_bready) begin
                s_axil_bvalid <= 1'b0;
            end
            if (s_axil_arvalid && !s_axil_rvalid) begin
                s_axil_rdata  <= regs[s_axil_araddr[7:2]];
                s_axil_rvalid <= 1'b1;
            end else if (s_axil_rready) begin
                s_axil_rvalid <= 1'b0;
            end
        end
    end

    // Stream: registered output stage; accept when the stage is empty or drains.
    reg first_beat;
    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;
    always @(posedge clock) begin
        if (reset) begin
            m_axis_tvalid <= 1'b0;
            first_beat    <= 1'b1;
            m_axis_tdata  <= 128'd0;
            m_axis_tkeep  <= 16'd0;
            m_axis_tlast  <= 1'b0;
            m_axis_tuser  <= 64'd0;
        end else if (s_axis_tready) begin
            m_axis_tvalid <= s_axis_tvalid;
            if (s_axis_tvalid) begin
                m_axis_tdata <= s_axis_tdata;
                m_axis_tkeep <= s_axis_tkeep;
                m_axis_tlast <= s_axis_tlast;
                m_axis_tuser <= first_beat ? s_axis_tuser : 64'd0;
                first_beat   <= s_axis_tlast;
            end
        end
    end
endmodule
