// extern "C" shim over the Verilator model of `module top`.
//
// One call per clock cycle: `sim_step` drives every input port from a plain
// struct, evaluates with the clock low (so combinational outputs such as the
// ready signals reflect this cycle's inputs), copies every output port into a
// second struct (the values a flop would sample at the rising edge), then
// raises the clock and evaluates again. Ports of any width are carried as
// arrays of 32-bit words, least significant word first.
#include <cstdint>
#include <cstring>
#include <memory>
#include "verilated.h"
#include "Vtop.h"
#if VM_TRACE
#include "verilated_vcd_c.h"
#endif

#define SIM_TUSER_WORDS 8

extern "C" {
struct SimInputs {
    uint32_t reset;
    uint32_t s_axil_awaddr;
    uint32_t s_axil_awvalid;
    uint32_t s_axil_wdata;
    uint32_t s_axil_wvalid;
    uint32_t s_axil_bready;
    uint32_t s_axil_araddr;
    uint32_t s_axil_arvalid;
    uint32_t s_axil_rready;
    uint32_t s_axis_tdata[4];
    uint32_t s_axis_tkeep;
    uint32_t s_axis_tlast;
    uint32_t s_axis_tvalid;
    uint32_t s_axis_tuser[SIM_TUSER_WORDS];
    uint32_t m_axis_tready;
    uint32_t m_axi_arready;
    uint32_t m_axi_rdata[4];
    uint32_t m_axi_rresp;
    uint32_t m_axi_rlast;
    uint32_t m_axi_rvalid;
    uint32_t m_axi_awready;
    uint32_t m_axi_wready;
    uint32_t m_axi_bresp;
    uint32_t m_axi_bvalid;
};

struct SimOutputs {
    uint32_t s_axil_awready;
    uint32_t s_axil_wready;
    uint32_t s_axil_bresp;
    uint32_t s_axil_bvalid;
    uint32_t s_axil_arready;
    uint32_t s_axil_rdata;
    uint32_t s_axil_rresp;
    uint32_t s_axil_rvalid;
    uint32_t s_axis_tready;
    uint32_t m_axis_tdata[4];
    uint32_t m_axis_tkeep;
    uint32_t m_axis_tlast;
    uint32_t m_axis_tvalid;
    uint32_t m_axis_tuser[SIM_TUSER_WORDS];
    uint32_t m_axi_araddr[2];
    uint32_t m_axi_arlen;
    uint32_t m_axi_arvalid;
    uint32_t m_axi_rready;
    uint32_t m_axi_awaddr[2];
    uint32_t m_axi_awlen;
    uint32_t m_axi_awvalid;
    uint32_t m_axi_wdata[4];
    uint32_t m_axi_wstrb;
    uint32_t m_axi_wlast;
    uint32_t m_axi_wvalid;
    uint32_t m_axi_bready;
    uint32_t irq;
};
}

namespace {
template <typename T> void put(T& port, const uint32_t* w) { port = static_cast<T>(w[0]); }
void put(QData& port, const uint32_t* w) {
    port = static_cast<QData>(w[0]) | (static_cast<QData>(w[1]) << 32);
}
template <std::size_t N> void put(VlWide<N>& port, const uint32_t* w) {
    for (std::size_t i = 0; i < N; ++i) port[i] = w[i];
}
template <typename T> void take(const T& port, uint32_t* w) { w[0] = static_cast<uint32_t>(port); }
void take(const QData& port, uint32_t* w) {
    w[0] = static_cast<uint32_t>(port);
    w[1] = static_cast<uint32_t>(port >> 32);
}
template <std::size_t N> void take(const VlWide<N>& port, uint32_t* w) {
    for (std::size_t i = 0; i < N; ++i) w[i] = port[i];
}
template <typename T> constexpr bool fits(std::size_t words) { return sizeof(T) <= 4 * words; }

struct Sim {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vtop> top;
#if VM_TRACE
    std::unique_ptr<VerilatedVcdC> vcd;
#endif
    uint64_t time = 0;
};
}  // namespace

static_assert(fits<decltype(Vtop::s_axis_tuser)>(SIM_TUSER_WORDS), "s_axis_tuser wider than the shim carries");
static_assert(fits<decltype(Vtop::m_axis_tuser)>(SIM_TUSER_WORDS), "m_axis_tuser wider than the shim carries");
static_assert(fits<decltype(Vtop::s_axis_tdata)>(4), "s_axis_tdata wider than 128 bits");
static_assert(fits<decltype(Vtop::m_axi_rdata)>(4), "m_axi_rdata wider than 128 bits");
static_assert(fits<decltype(Vtop::m_axi_wdata)>(4), "m_axi_wdata wider than 128 bits");
static_assert(fits<decltype(Vtop::m_axi_araddr)>(2), "m_axi_araddr wider than 64 bits");
static_assert(fits<decltype(Vtop::m_axi_awaddr)>(2), "m_axi_awaddr wider than 64 bits");
static_assert(fits<decltype(Vtop::irq)>(1), "irq wider than 32 lines");

extern "C" {

void* sim_create(const char* vcd_path) {
    Sim* s = new Sim();
    s->ctx.reset(new VerilatedContext());
    s->ctx->threads(1);
#if VM_TRACE
    if (vcd_path != nullptr && vcd_path[0] != '\0') s->ctx->traceEverOn(true);
#endif
    s->top.reset(new Vtop(s->ctx.get(), "top"));
#if VM_TRACE
    if (vcd_path != nullptr && vcd_path[0] != '\0') {
        s->vcd.reset(new VerilatedVcdC());
        s->top->trace(s->vcd.get(), 99);
        s->vcd->open(vcd_path);
    }
#else
    (void)vcd_path;
#endif
    s->top->clock = 0;
    s->top->eval();
    return s;
}

void sim_destroy(void* handle) {
    Sim* s = static_cast<Sim*>(handle);
    if (s == nullptr) return;
    s->top->final();
#if VM_TRACE
    if (s->vcd) s->vcd->close();
#endif
    delete s;
}

int sim_tracing(void) { return VM_TRACE; }

void sim_step(void* handle, const SimInputs* in, SimOutputs* out) {
    Sim* s = static_cast<Sim*>(handle);
    Vtop* t = s->top.get();
    t->clock = 0;
    put(t->reset, &in->reset);
    put(t->s_axil_awaddr, &in->s_axil_awaddr);
    put(t->s_axil_awvalid, &in->s_axil_awvalid);
    put(t->s_axil_wdata, &in->s_axil_wdata);
    put(t->s_axil_wvalid, &in->s_axil_wvalid);
    put(t->s_axil_bready, &in->s_axil_bready);
    put(t->s_axil_araddr, &in->s_axil_araddr);
    put(t->s_axil_arvalid, &in->s_axil_arvalid);
    put(t->s_axil_rready, &in->s_axil_rready);
    put(t->s_axis_tdata, in->s_axis_tdata);
    put(t->s_axis_tkeep, &in->s_axis_tkeep);
    put(t->s_axis_tlast, &in->s_axis_tlast);
    put(t->s_axis_tvalid, &in->s_axis_tvalid);
    put(t->s_axis_tuser, in->s_axis_tuser);
    put(t->m_axis_tready, &in->m_axis_tready);
    put(t->m_axi_arready, &in->m_axi_arready);
    put(t->m_axi_rdata, in->m_axi_rdata);
    put(t->m_axi_rresp, &in->m_axi_rresp);
    put(t->m_axi_rlast, &in->m_axi_rlast);
    put(t->m_axi_rvalid, &in->m_axi_rvalid);
    put(t->m_axi_awready, &in->m_axi_awready);
    put(t->m_axi_wready, &in->m_axi_wready);
    put(t->m_axi_bresp, &in->m_axi_bresp);
    put(t->m_axi_bvalid, &in->m_axi_bvalid);
    t->eval();
#if VM_TRACE
    if (s->vcd) s->vcd->dump(s->time * 2);
#endif
    take(t->s_axil_awready, &out->s_axil_awready);
    take(t->s_axil_wready, &out->s_axil_wready);
    take(t->s_axil_bresp, &out->s_axil_bresp);
    take(t->s_axil_bvalid, &out->s_axil_bvalid);
    take(t->s_axil_arready, &out->s_axil_arready);
    take(t->s_axil_rdata, &out->s_axil_rdata);
    take(t->s_axil_rresp, &out->s_axil_rresp);
    take(t->s_axil_rvalid, &out->s_axil_rvalid);
    take(t->s_axis_tready, &out->s_axis_tready);
    take(t->m_axis_tdata, out->m_axis_tdata);
    take(t->m_axis_tkeep, &out->m_axis_tkeep);
    take(t->m_axis_tlast, &out->m_axis_tlast);
    take(t->m_axis_tvalid, &out->m_axis_tvalid);
    take(t->m_axis_tuser, out->m_axis_tuser);
    take(t->m_axi_araddr, out->m_axi_araddr);
    take(t->m_axi_arlen, &out->m_axi_arlen);
    take(t->m_axi_arvalid, &out->m_axi_arvalid);
    take(t->m_axi_rready, &out->m_axi_rready);
    take(t->m_axi_awaddr, out->m_axi_awaddr);
    take(t->m_axi_awlen, &out->m_axi_awlen);
    take(t->m_axi_awvalid, &out->m_axi_awvalid);
    take(t->m_axi_wdata, out->m_axi_wdata);
    take(t->m_axi_wstrb, &out->m_axi_wstrb);
    take(t->m_axi_wlast, &out->m_axi_wlast);
    take(t->m_axi_wvalid, &out->m_axi_wvalid);
    take(t->m_axi_bready, &out->m_axi_bready);
    take(t->irq, &out->irq);
    t->clock = 1;
    t->eval();
#if VM_TRACE
    if (s->vcd) s->vcd->dump(s->time * 2 + 1);
#endif
    s->time += 1;
}

}  // extern "C"
