"""The cells of the three texts, built from tinygraph's primitive ops.

- ``BlogLSTM`` (seed 001): batched X (r × d), H and C (r × h), vector gates I, F, O,
  new memory C_i; C_t = F×C + I×C_i, H_t = O×tanh(C_t). 12 parameters.
- ``PaperLSTM`` (seed 000, eqs 1-10): one sequence, x (N,), s and z_h (D,), scalar gates
  g_ι, g_φ, g_ω with peepholes on s; z_h = f_h(g_ω s) exactly as eq. 10 prints it.
- ``PeepholeLSTM`` (seed 002's diagrams): BlogLSTM whose valves also see the memory:
  C_t-1 for the input and forget valves, C_t for the output valve.
- ``VanillaRNN``: h_t = tanh(X W_x + h W_h + b), the baseline whose gradients vanish.
- ``GRU``: reset gate R, update gate Z, candidate N, H_t = (1 − Z)×N + Z×H, in PyTorch's
  convention (the reset gate inside the candidate's hidden matmul; see the class).
- ``Stacked``: any of them in layers (``make_cell(variant, d, h, num_layers=L)``), layer
  l's output at step t the input of layer l+1 at the same step (seed 001's "multi-layered
  network"); scopes "layer=l/t=3/...", keys "layer2.W_ix".

Every intermediate is a named node inside a scope per time step ("t=1", ...) and per
gate network ("input gate", "forget gate", "output gate", "new memory" / "input value"),
so drawings and the backward stepper show the texts' notation.

>>> import numpy as np
>>> cell = BlogLSTM(3, 2, seed=0)
>>> run = cell.unroll(np.ones((4, 5, 3)))          # T=4 steps, batch r=5, d=3
>>> [n.shape for n in run.outputs][:2], sorted(run.initial_state)
([(5, 2), (5, 2)], ['C0', 'H0'])
>>> run.steps[0]["F×C"].scope
('t=1',)
>>> run.steps[0]["F"].scope
('t=1', 'forget gate')
"""
from dataclasses import dataclass

import numpy as np

import tinygraph as tg


# --- activations (PaperLSTM's f_ι, f_φ, f_ω, f_c, f_h) -----------------------

class Identity(tg.Op):
    """f(a) = a: lets a PaperLSTM gate or value be linear (still one visible node)."""

    __slots__ = ()
    name, symbol = "identity", "id"
    rule = r"\bar a = \bar y"
    operands, linear = ("a",), True

    def forward(self, a):
        return a

    def backward(self, g, out, a):
        return (g,)

    def backward_graph(self, g, out, a):
        return (g,)


def identity(x, name=None):
    """The identity as a tinygraph op (a node of its own, so it can carry a name)."""
    return tg.apply(Identity(), (x,), name)


#: Activations a PaperLSTM can use, by name. Each maps a Node to a Node element-wise.
#: sigmoid(a) = 1/(1+e^-a), tanh(a), identity(a) = a, relu(a) = max(a, 0).
ACTIVATIONS = {"sigmoid": tg.sigmoid, "tanh": tg.tanh, "identity": identity, "relu": tg.relu}


def activation(name, role):
    """Look up an activation by name; ``role`` (e.g. "f_iota") names it in the error."""
    if name not in ACTIVATIONS:
        raise ValueError(f"PaperLSTM: {role}={name!r} is not an activation; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


# --- what unroll returns -------------------------------------------------------

@dataclass
class Run:
    """An unrolled graph.

    ``steps[t-1]`` maps node name -> Node for every named node of step t (its input too);
    ``outputs`` are the per-step outputs (H_t, z_h, h_t); ``inputs`` the per-step input
    nodes; ``initial_state`` the t=0 state nodes; ``final_state`` the last step's state
    under the same keys as ``initial_state`` (so it can start the next unroll).
    """

    steps: list
    outputs: list
    inputs: list
    initial_state: dict
    final_state: dict


# --- shared machinery ----------------------------------------------------------

def _check_size(value, what, cls):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{cls}: {what} must be a positive integer, got {value!r}")
    return int(value)


class Cell:
    """Base class: parameters from a seed, unroll over T steps, one step at a time.

    Subclasses define ``PARAMETERS`` (key -> drawn name), ``parameter_shapes``,
    ``STATE`` (initial-state key -> key of the same quantity in a step dict),
    ``INPUT`` (the input node's name), ``OUTPUT`` (the output node's name) and
    ``_build(x, previous, nodes)`` which creates the step's nodes (inside the step scope)
    from the input node and the previous state, recording each in ``nodes`` by name.
    """

    PARAMETERS = {}
    STATE = {}
    INPUT = "X"
    OUTPUT = "H_t"
    num_layers = 1

    def __init__(self, input_size, hidden_size, seed=0, dtype="float64", parameters=None):
        name = type(self).__name__
        self.input_size = _check_size(input_size, "input_size", name)
        self.hidden_size = _check_size(hidden_size, "hidden_size", name)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise tg.DtypeError(f"{name}: dtype must be float64 or float32, got {self.dtype}")
        self.seed = seed
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(self.hidden_size)
        shapes = self.parameter_shapes(self.input_size, self.hidden_size)
        if parameters is not None:
            self._params = self._given_parameters(parameters, shapes)
            return
        self._params = {}
        for key, shape in shapes.items():
            value = rng.uniform(-bound, bound, size=shape).astype(self.dtype)
            self._params[key] = tg.parameter(value, name=self.PARAMETERS[key])

    def _given_parameters(self, parameters, shapes):
        """Arrays become parameter Nodes; Nodes are used as they are (e.g. by gradcheck)."""
        problems = check_arrays(parameters, shapes, what=f"{type(self).__name__} parameters")
        if problems:
            raise ValueError("\n".join(problems))
        params = {}
        for key in shapes:
            value = parameters[key]
            if isinstance(value, tg.Node):
                if value.dtype != self.dtype:
                    raise tg.DtypeError(f"{type(self).__name__}: parameter {key!r} has dtype {value.dtype}, "
                                        f"the cell computes in {self.dtype}")
                params[key] = value if value.name else value.named(self.PARAMETERS[key])
            else:
                params[key] = tg.parameter(np.array(value, dtype=self.dtype), name=self.PARAMETERS[key])
        return params

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size):
        """key -> shape of every parameter, in the fixed order of ``parameters()``."""
        raise NotImplementedError

    def parameters(self):
        """The parameter Nodes by key (fixed order; the same Nodes on every call)."""
        return dict(self._params)

    @property
    def layers(self):
        """The cells from bottom to top: ``[self]`` for one layer (see ``Stacked``)."""
        return [self]

    def set_parameters(self, arrays):
        """Give the parameters new values from a dict key -> array (all keys, exact shapes)."""
        expected = {k: p.shape for k, p in self._params.items()}
        problems = check_arrays(arrays, expected, what=f"{type(self).__name__} parameters")
        if problems:
            raise ValueError("\n".join(problems))
        for key, node in self._params.items():
            node.assign(np.asarray(arrays[key], dtype=self.dtype))

    def __repr__(self):
        return (f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size}, "
                f"seed={self.seed}, dtype={self.dtype.name!r})")

    # --- shapes ------------------------------------------------------------
    def input_shape(self, batch):
        """Shape of one step's input for a batch of ``batch`` rows."""
        return (batch, self.input_size)

    def state_shape(self, batch):
        return (batch, self.hidden_size)

    def state_shapes(self, batch):
        """Initial-state key -> shape (every state of a cell has the output's shape)."""
        return {key: self.state_shape(batch) for key in self.STATE}

    def _batch_of(self, x_shape):
        return x_shape[0]

    # --- building ----------------------------------------------------------
    def _as_node(self, value, name, shape, what):
        cls = type(self).__name__
        if isinstance(value, tg.Node):
            node = value
            if node.name is None:
                node.named(name)
        else:
            node = tg.tensor(value, name=name, dtype=self.dtype)
        if node.shape != shape:
            raise tg.ShapeError(f"{cls}: {what} {name!r} must have shape {shape}, got {node.shape}")
        if node.dtype != self.dtype:
            raise tg.DtypeError(f"{cls}: {what} {name!r} has dtype {node.dtype} but the cell computes in "
                                f"{self.dtype}; make the cell with dtype={node.dtype.name!r} or convert it")
        return node

    def initial(self, batch, initial_state=None):
        """The t=0 state as Nodes: given arrays become tensors, given Nodes are used as they
        are (make them tg.parameter to get their gradients), missing entries are zeros."""
        cls = type(self).__name__
        given = dict(initial_state or {})
        unknown = sorted(set(given) - set(self.STATE))
        if unknown:
            raise ValueError(f"{cls}: unknown initial state {unknown}; expected keys {list(self.STATE)}")
        shape = self.state_shape(batch)
        state = {}
        for key in self.STATE:
            value = given.get(key)
            if value is None:
                value = np.zeros(shape, dtype=self.dtype)
            state[key] = self._as_node(value, key, shape, "initial state")
        return state

    def _previous(self, state, batch):
        """The previous state's Nodes, keyed like ``STATE``, from an initial-state dict,
        a step dict, or None (zeros)."""
        if state is None:
            return self.initial(batch)
        if all(key in state for key in self.STATE):
            return {key: state[key] for key in self.STATE}
        if all(name in state for name in self.STATE.values()):
            return {key: state[name] for key, name in self.STATE.items()}
        raise ValueError(f"{type(self).__name__}.step: state must hold {list(self.STATE)} (an initial state) "
                         f"or {list(self.STATE.values())} (the previous step); got keys {sorted(state)}")

    def step(self, x_t, state=None, t=1):
        """Build time step ``t`` (inside scope "t={t}") from input ``x_t`` (array or Node) and
        ``state`` (an initial-state dict, the previous step's dict, or None for zeros).
        Returns the step's dict: node name -> Node, which is also the next step's state."""
        x_shape = np.shape(x_t.value if isinstance(x_t, tg.Node) else x_t)
        if len(x_shape) != len(self.input_shape(1)):
            raise tg.ShapeError(f"{type(self).__name__}: input {self.INPUT!r} at t={t} must have shape "
                                f"{self.input_shape_text()}, got {x_shape}")
        batch = self._batch_of(x_shape)
        previous = self._previous(state, batch)
        with tg.scope(tg.step_scope(t)):
            x = self._as_node(x_t, self.INPUT, self.input_shape(batch), f"input at t={t}")
            nodes = {self.INPUT: x}
            self._build(x, previous, nodes)
        return nodes

    def input_shape_text(self, sequence=False):
        """How errors write the expected input shape, e.g. "(T, r, d) = (T, r, 3)"."""
        return f"(T, r, d) = (T, r, {self.input_size})" if sequence else f"(r, d) = (r, {self.input_size})"

    def unroll(self, inputs, initial_state=None):
        """Build T steps. ``inputs``: an array of shape (T, r, d) (PaperLSTM: (T, N)) or a list
        of T per-step arrays/Nodes. Returns a ``Run``."""
        cls = type(self).__name__
        if isinstance(inputs, tg.Node):
            raise TypeError(f"{cls}.unroll: give the inputs as an array of shape (T, ...) or a list of "
                            f"per-step Nodes, not one Node {inputs.shape}")
        if isinstance(inputs, (list, tuple)):
            per_step = list(inputs)
        else:
            arr = np.asarray(inputs)
            if arr.ndim != len(self.input_shape(1)) + 1:
                raise tg.ShapeError(f"{cls}.unroll: inputs must have shape {self.input_shape_text(True)}, "
                                    f"got {arr.shape}")
            per_step = list(arr)
        if not per_step:
            raise ValueError(f"{cls}.unroll: need at least one time step (T >= 1), got none")
        first = per_step[0].value if isinstance(per_step[0], tg.Node) else np.asarray(per_step[0])
        if first.ndim != len(self.input_shape(1)):
            raise tg.ShapeError(f"{cls}.unroll: each step's input must have shape {self.input_shape_text()}, "
                                f"got {first.shape}")
        batch = self._batch_of(first.shape)
        init = self.initial(batch, initial_state)
        state, steps = init, []
        for t, x_t in enumerate(per_step, start=1):
            state = self.step(x_t, state, t)
            steps.append(state)
        final = {key: steps[-1][name] for key, name in self.STATE.items()}
        return Run(steps=steps, outputs=[s[self.OUTPUT] for s in steps],
                   inputs=[s[self.INPUT] for s in steps], initial_state=init, final_state=final)


def check_arrays(arrays, expected, what):
    """Problems (a list of sentences) with a dict of arrays against key -> expected shape:
    missing and extra keys, wrong shapes, non-float dtypes, NaN/Inf."""
    if not isinstance(arrays, dict):
        return [f"{what}: expected a dict of arrays keyed {list(expected)}, got {type(arrays).__name__}"]
    problems = []
    missing = [k for k in expected if k not in arrays]
    extra = [k for k in arrays if k not in expected]
    if missing:
        problems.append(f"{what}: missing {missing}")
    if extra:
        problems.append(f"{what}: unexpected {extra} (expected exactly {list(expected)})")
    for key, shape in expected.items():
        if key not in arrays:
            continue
        value = arrays[key]
        arr = value.value if isinstance(value, tg.Node) else np.asarray(value)
        if arr.dtype.kind != "f":
            problems.append(f"{what}: {key!r} must be a float array, got dtype {arr.dtype}")
        elif arr.shape != tuple(shape):
            problems.append(f"{what}: {key!r} must have shape {tuple(shape)}, got {arr.shape}")
        elif not np.isfinite(arr).all():
            problems.append(f"{what}: {key!r} contains NaN or Inf")
    return problems


# --- the cells ------------------------------------------------------------------

class BlogLSTM(Cell):
    """Seed 001's LSTM: batched, vector gates, 12 parameters named as in the text.

        I   = σ(X W_ix + H W_ih + b_i)        F = σ(X W_fx + H W_fh + b_f)
        O   = σ(X W_ox + H W_oh + b_o)        C_i = tanh(X W_cx + H W_ch + b_c)
        C_t = F×C + I×C_i                      H_t = O×tanh(C_t)

    X is (r × d), H and C are (r × h) (zeros at t=0 unless given as "H0", "C0").
    Parameters are drawn uniformly from ±1/√h (as PyTorch's nn.LSTM does) with
    ``np.random.default_rng(seed)``, in the order of ``parameters()``; or given as
    ``parameters={key: array or Node}`` (Nodes are used as they are).
    """

    PARAMETERS = {k: k for k in ("W_ix", "W_fx", "W_ox", "W_cx", "W_ih", "W_fh", "W_oh", "W_ch",
                                 "b_i", "b_f", "b_o", "b_c")}
    STATE = {"H0": "H_t", "C0": "C_t"}

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size):
        d, h = input_size, hidden_size
        shapes = {}
        for key in cls.PARAMETERS:
            shapes[key] = (h,) if key.startswith("b_") else ((d, h) if key.endswith("x") else (h, h))
        return shapes

    def _build(self, X, previous, nodes):
        H, C = previous["H0"], previous["C0"]
        with tg.scope("forget gate"):             # built in the order of the pipe: F, I, C_i, O
            F = tg.sigmoid(self._net(X, H, C, "f", nodes), name="F")
        with tg.scope("input gate"):
            I = tg.sigmoid(self._net(X, H, C, "i", nodes), name="I")
        with tg.scope("new memory"):
            C_i = tg.tanh(self._net(X, H, C, "c", nodes), name="C_i")
        FC = tg.mul(F, C, name="F×C")               # the forget valve on the memory pipe
        IC = tg.mul(I, C_i, name="I×C_i")           # the new-memory valve
        C_t = tg.add(FC, IC, name="C_t")            # the T-joint where they merge
        with tg.scope("output gate"):
            O = tg.sigmoid(self._net(X, H, C_t, "o", nodes), name="O")
        tanh_C = tg.tanh(C_t, name="tanh(C_t)")
        H_t = tg.mul(O, tanh_C, name="H_t")         # the output valve
        for node in (F, I, C_i, FC, IC, C_t, O, tanh_C, H_t):
            nodes[node.name] = node

    def _net(self, X, H, C, g, nodes):
        """X W_gx + H W_gh (+ C W_gc for a peephole) + b_g, recording every partial result
        in ``nodes``. Products are named by what they multiply: "X W_ix", "H W_ih", "C W_ic"."""
        p = self._params
        parts = [("X", X, p[f"W_{g}x"]), ("H", H, p[f"W_{g}h"])] + self._peephole(C, g)
        total = None
        for label, x, w in parts:
            product = tg.matmul(x, w, name=f"{label} {w.name}")
            nodes[product.name] = product
            if total is not None:
                total = tg.add(total, product, name=f"{total.name} + {product.name}")
                nodes[total.name] = total
            else:
                total = product
        b = p[f"b_{g}"]
        total = tg.add(total, b, name=f"{total.name} + {b.name}")
        nodes[total.name] = total
        return total

    def _peephole(self, C, g):
        return []


class PeepholeLSTM(BlogLSTM):
    """Seed 002's cell: each valve is a one-layer network over x_t, h_t-1, the memory and a bias.

        I = σ(X W_ix + H W_ih + C W_ic + b_i)     F = σ(X W_fx + H W_fh + C W_fc + b_f)
        C_i = tanh(X W_cx + H W_ch + b_c)          C_t = F×C + I×C_i
        O = σ(X W_ox + H W_oh + C_t W_oc + b_o)   H_t = O×tanh(C_t)

    C is C_t-1 for the input and forget valves; the output valve sees the new memory C_t.
    The peephole matrices W_ic, W_fc, W_oc are full (h × h), as we read the text's "one layer
    neural network" over the memory; the usual peepholes (Gers & Schmidhuber 2000; PyTorch has
    none, TensorFlow's LSTMCell(use_peepholes=True)) are diagonal, one weight per unit, so each
    valve sees only its own unit's memory. Initialised like BlogLSTM (uniform ±1/√h).
    """

    PARAMETERS = {**BlogLSTM.PARAMETERS, "W_ic": "W_ic", "W_fc": "W_fc", "W_oc": "W_oc"}

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size):
        shapes = BlogLSTM.parameter_shapes(input_size, hidden_size)
        for key in ("W_ic", "W_fc", "W_oc"):
            shapes[key] = (hidden_size, hidden_size)
        return shapes

    def _peephole(self, C, g):
        if g == "c":
            return []
        return [("C_t" if g == "o" else "C", C, self._params[f"W_{g}c"])]


class VanillaRNN(Cell):
    """The plain recurrent net of seed 001's vanishing-gradient discussion:
    h_t = tanh(X W_x + h W_h + b), X (r × d), h (r × h), h0 zeros unless given.
    Initialised uniformly from ±1/√h with ``np.random.default_rng(seed)``."""

    PARAMETERS = {"W_x": "W_x", "W_h": "W_h", "b": "b"}
    STATE = {"h0": "h_t"}
    OUTPUT = "h_t"

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size):
        return {"W_x": (input_size, hidden_size), "W_h": (hidden_size, hidden_size), "b": (hidden_size,)}

    def _build(self, X, previous, nodes):
        p = self._params
        h = previous["h0"]
        xw = tg.matmul(X, p["W_x"], name="X W_x")
        hw = tg.matmul(h, p["W_h"], name="h W_h")
        s = tg.add(xw, hw, name="X W_x + h W_h")
        a = tg.add(s, p["b"], name="X W_x + h W_h + b")
        h_t = tg.tanh(a, name="h_t")
        for node in (xw, hw, s, a, h_t):
            nodes[node.name] = node


class GRU(Cell):
    """The gated recurrent unit (Cho et al., 2014) in PyTorch's convention (``torch.nn.GRU``):

        R = σ(X W_rx + H W_rh + b_r)                   the reset gate
        Z = σ(X W_zx + H W_zh + b_z)                   the update gate
        N = tanh(X W_nx + b_nx + R×(H W_nh + b_nh))    the candidate
        H_t = (1 − Z)×N + Z×H

    The reset gate acts *after* the hidden matmul, on H W_nh + b_nh; that is why the
    candidate has two biases (b_nx, b_nh) while R and Z need one each. The 2014 paper applies
    it *before*: N = tanh(X W_nx + (R×H) W_nh + b_n). Both are common; this one matches
    PyTorch's numbers. There is no separate memory: H is both the memory and the output, and
    Z is the valve that keeps it (Z×H), 1 − Z the valve that lets the candidate in; R is the
    reset valve on the hidden part of the candidate (scopes "update gate", "reset gate",
    "hidden to candidate" for H W_nh + b_nh, "candidate"; the three valves at the step's level).
    X is (r × d), H is (r × h) (zeros at t=0 unless given as "H0"). Uniform ±1/√h.
    """

    PARAMETERS = {k: k for k in ("W_rx", "W_zx", "W_nx", "W_rh", "W_zh", "W_nh", "b_r", "b_z", "b_nx", "b_nh")}
    STATE = {"H0": "H_t"}

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size):
        d, h = input_size, hidden_size
        return {k: (h,) if k.startswith("b_") else ((d, h) if k.endswith("x") else (h, h)) for k in cls.PARAMETERS}

    def _build(self, X, previous, nodes):
        p, H = self._params, previous["H0"]
        made = []

        def node(n):
            made.append(n)
            return n

        def gate(g):
            xw = node(tg.matmul(X, p[f"W_{g}x"], name=f"X {p[f'W_{g}x'].name}"))
            hw = node(tg.matmul(H, p[f"W_{g}h"], name=f"H {p[f'W_{g}h'].name}"))
            s = node(tg.add(xw, hw, name=f"{xw.name} + {hw.name}"))
            return node(tg.add(s, p[f"b_{g}"], name=f"{s.name} + {p[f'b_{g}'].name}"))

        with tg.scope("update gate"):                  # built in the order of the pipe: Z, R, N
            Z = node(tg.sigmoid(gate("z"), name="Z"))
        with tg.scope("reset gate"):
            R = node(tg.sigmoid(gate("r"), name="R"))
        with tg.scope("hidden to candidate"):
            hw = node(tg.matmul(H, p["W_nh"], name=f"H {p['W_nh'].name}"))
            hb = node(tg.add(hw, p["b_nh"], name=f"{hw.name} + {p['b_nh'].name}"))
        reset = node(tg.mul(R, hb, name=f"R×({hb.name})"))      # the reset valve
        with tg.scope("candidate"):
            xw = node(tg.matmul(X, p["W_nx"], name=f"X {p['W_nx'].name}"))
            xb = node(tg.add(xw, p["b_nx"], name=f"{xw.name} + {p['b_nx'].name}"))
            N = node(tg.tanh(node(tg.add(xb, reset, name=f"{xb.name} + {reset.name}")), name="N"))
        kept = node(tg.mul(Z, H, name="Z×H"))                   # the update valve on the pipe
        one_minus = node(tg.sub(1.0, Z, name="1−Z"))
        added = node(tg.mul(one_minus, N, name="(1−Z)×N"))       # the valve letting the candidate in
        node(tg.add(kept, added, name="H_t"))
        for n in made:
            nodes[n.name] = n


class PaperLSTM(Cell):
    """Seed 000's cell (eqs 1-10): one sequence, scalar gates with peepholes.

        a_ι = w_ι^T [x; z_h(t-1); s(t-1); 1]       g_ι = f_ι(a_ι)          (1, 2)
        a_c = W_c^T [x; z_h(t-1); 1]               z_c = f_c(a_c)          (3, 4)
        a_φ = w_φ^T [x; z_h(t-1); s(t-1); 1]       g_φ = f_φ(a_φ)          (5, 6)
        s   = g_φ s(t-1) + g_ι z_c                                         (7)
        a_ω = w_ω^T [x; z_h(t-1); s(t); 1]         g_ω = f_ω(a_ω)          (8, 9)
        z_h = f_h(g_ω s)                                                   (10, as printed)

    x is (N,), s and z_h are (D,) (zeros at t=0 unless given as "s0", "z_h0").
    w_iota, w_phi, w_omega have N+2D+1 entries, W_c is (N+D+1) × D; a_c is computed as
    [x; z_h; 1] @ W_c, which equals W_c^T [x; z_h; 1]. The activations are chosen by name
    from ``ACTIVATIONS`` (default f_ι = f_φ = f_ω = "sigmoid", f_c = f_h = "tanh").
    Parameters are uniform ±1/√D from ``np.random.default_rng(seed)``.
    """

    PARAMETERS = {"w_iota": "w_ι", "w_phi": "w_φ", "w_omega": "w_ω", "W_c": "W_c"}
    STATE = {"z_h0": "z_h", "s0": "s"}
    INPUT = "x"
    OUTPUT = "z_h"

    def __init__(self, N, D, seed=0, dtype="float64", f_iota="sigmoid", f_phi="sigmoid",
                 f_omega="sigmoid", f_c="tanh", f_h="tanh", parameters=None):
        super().__init__(N, D, seed=seed, dtype=dtype, parameters=parameters)
        self.activations = {"f_iota": f_iota, "f_phi": f_phi, "f_omega": f_omega, "f_c": f_c, "f_h": f_h}
        self._f = {role: activation(name, role) for role, name in self.activations.items()}

    @property
    def N(self):
        return self.input_size

    @property
    def D(self):
        return self.hidden_size

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size):
        N, D = input_size, hidden_size
        return {"w_iota": (N + 2 * D + 1,), "w_phi": (N + 2 * D + 1,), "w_omega": (N + 2 * D + 1,),
                "W_c": (N + D + 1, D)}

    def __repr__(self):
        acts = ", ".join(f"{k}={v!r}" for k, v in self.activations.items())
        return f"PaperLSTM(N={self.N}, D={self.D}, seed={self.seed}, dtype={self.dtype.name!r}, {acts})"

    def input_shape(self, batch):
        return (self.input_size,)

    def state_shape(self, batch):
        return (self.hidden_size,)

    def _batch_of(self, x_shape):
        return None

    def input_shape_text(self, sequence=False):
        return f"(T, N) = (T, {self.input_size})" if sequence else f"(N,) = ({self.input_size},)"

    def _build(self, x, previous, nodes):
        p, f = self._params, self._f
        z_h, s_prev = previous["z_h0"], previous["s0"]
        v = tg.concat([x, z_h, s_prev, 1.0], name="[x; z_h; s; 1]")
        with tg.scope("forget gate"):             # built in the order of the pipe: φ, ι, c, ω
            a_phi = tg.matmul(p["w_phi"], v, name="a_φ")
            g_phi = f["f_phi"](a_phi, name="g_φ")
        with tg.scope("input gate"):
            a_iota = tg.matmul(p["w_iota"], v, name="a_ι")
            g_iota = f["f_iota"](a_iota, name="g_ι")
        with tg.scope("input value"):
            v_c = tg.concat([x, z_h, 1.0], name="[x; z_h; 1]")
            a_c = tg.matmul(v_c, p["W_c"], name="a_c")
            z_c = f["f_c"](a_c, name="z_c")
        kept = tg.mul(g_phi, s_prev, name="g_φ s")
        added = tg.mul(g_iota, z_c, name="g_ι z_c")
        s = tg.add(kept, added, name="s")
        with tg.scope("output gate"):
            v_out = tg.concat([x, z_h, s, 1.0], name="[x; z_h; s(t); 1]")
            a_omega = tg.matmul(p["w_omega"], v_out, name="a_ω")
            g_omega = f["f_omega"](a_omega, name="g_ω")
        gated = tg.mul(g_omega, s, name="g_ω s")
        z_h_t = f["f_h"](gated, name="z_h")
        for node in (v, a_phi, g_phi, a_iota, g_iota, v_c, a_c, z_c, kept, added, s, v_out, a_omega,
                     g_omega, gated, z_h_t):
            nodes[node.name] = node


# --- stacks of layers -------------------------------------------------------------

_SUPERSCRIPTS = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


def layer_key(layer, key):
    """The key of a stacked cell's parameter or state: ``layer_key(2, "W_ix")`` -> "layer2.W_ix"."""
    return f"layer{layer}.{key}"


class Stacked(Cell):
    """Cells stacked in layers: layer l's output at step t (H_t, h_t, z_h) is layer l+1's
    input at the same step, as seed 001 says of a multi-layered network; each layer keeps
    its own state (H and C) from step to step. The top layer's output is the stack's.

    Every node sits in a scope per layer and per step, e.g. ``layer=2/t=3/forget gate``.
    Parameters, initial states and step-dict entries are keyed per layer ("layer2.W_ix",
    "layer2.H0", ``run.steps[2]["layer2.F"]``); the parameters are drawn with the layer as a
    superscript (W_ix⁽²⁾). The input keeps its name ("X"). Layers 1-based, like the steps.

    >>> stack = Stacked([BlogLSTM(3, 4, seed=0), VanillaRNN(4, 2, seed=1)])
    >>> run = stack.unroll(np.ones((2, 5, 3)))           # T=2 steps, r=5 rows, d=3
    >>> run.outputs[0].shape, run.steps[1]["layer1.F"].scope, list(run.initial_state)
    ((5, 2), ('layer=1', 't=2', 'forget gate'), ['layer1.H0', 'layer1.C0', 'layer2.h0'])
    """

    def __init__(self, layers):
        layers = list(layers)
        if not layers or not all(isinstance(c, Cell) and not isinstance(c, Stacked) for c in layers):
            raise TypeError(f"Stacked: give a non-empty list of cells (BlogLSTM, GRU, ...), got {layers!r}")
        for l, (below, above) in enumerate(zip(layers, layers[1:]), start=1):
            if above.input_size != below.hidden_size:
                raise tg.ShapeError(f"Stacked: layer {l + 1} ({type(above).__name__}) takes inputs of size "
                                    f"{above.input_size} but layer {l} ({type(below).__name__}) outputs size "
                                    f"{below.hidden_size}; they must be equal")
            if (above.input_shape(1) == (above.input_size,)) != (below.input_shape(1) == (below.input_size,)):
                raise ValueError("Stacked: PaperLSTM (one sequence, no batch axis) cannot be stacked with "
                                 "batched cells")
            if above.dtype != below.dtype:
                raise tg.DtypeError(f"Stacked: layer {l} computes in {below.dtype}, layer {l + 1} in {above.dtype}")
        self._layers = layers
        first, top = layers[0], layers[-1]
        self.input_size, self.hidden_size, self.dtype, self.seed = first.input_size, top.hidden_size, first.dtype, first.seed
        self.INPUT, self.OUTPUT = first.INPUT, layer_key(len(layers), top.OUTPUT)
        self.STATE = {layer_key(l, k): layer_key(l, v) for l, c in enumerate(layers, 1) for k, v in c.STATE.items()}
        self._params = {}
        for l, cell in enumerate(layers, start=1):
            for key, node in cell.parameters().items():
                if not node.name.endswith("⁾"):
                    node.named(f"{node.name}{f'({l})'.translate(_SUPERSCRIPTS)}")
                self._params[layer_key(l, key)] = node

    @classmethod
    def of(cls, variant, input_size, hidden_size, num_layers, seed=0, **options):
        """``num_layers`` cells of one variant: layer 1 maps ``input_size`` to ``hidden_size``,
        the others ``hidden_size`` to ``hidden_size`` (as torch.nn.LSTM(num_layers=L)). Layer 1
        is drawn from ``seed`` (the same as an unstacked cell), layer l from the seed [seed, l]."""
        num_layers = _check_size(num_layers, "num_layers", "Stacked")
        cls_ = VARIANTS[variant]
        return cls([cls_(input_size if l == 1 else hidden_size, hidden_size, seed=seed if l == 1 else [seed, l],
                         **options) for l in range(1, num_layers + 1)])

    @property
    def layers(self):
        """The cells, bottom (layer 1) to top."""
        return list(self._layers)

    @property
    def num_layers(self):
        return len(self._layers)

    def __repr__(self):
        return f"Stacked([{', '.join(map(repr, self._layers))}])"

    def parameter_shapes(self):
        """key -> shape of every layer's parameters ("layer1.W_ix", ...), in ``parameters()``'s order."""
        return {k: p.shape for k, p in self._params.items()}

    def input_shape(self, batch):
        return self._layers[0].input_shape(batch)

    def input_shape_text(self, sequence=False):
        return self._layers[0].input_shape_text(sequence)

    def state_shape(self, batch):
        """The shape of the top layer's output (what the targets are compared with)."""
        return self._layers[-1].state_shape(batch)

    def state_shapes(self, batch):
        return {layer_key(l, k): shape for l, c in enumerate(self._layers, 1)
                for k, shape in c.state_shapes(batch).items()}

    def _batch_of(self, x_shape):
        return self._layers[0]._batch_of(x_shape)

    def initial(self, batch, initial_state=None):
        """Every layer's t=0 state, keyed "layer1.H0", ...; each layer's inside its scope "layer=l"."""
        given = dict(initial_state or {})
        unknown = sorted(set(given) - set(self.STATE))
        if unknown:
            raise ValueError(f"Stacked: unknown initial state {unknown}; expected keys {list(self.STATE)}")
        state = {}
        for l, cell in enumerate(self._layers, start=1):
            mine = {k: given[layer_key(l, k)] for k in cell.STATE if layer_key(l, k) in given}
            with tg.scope(tg.layer_scope(l)):
                state.update({layer_key(l, k): v for k, v in cell.initial(batch, mine).items()})
        return state

    def step(self, x_t, state=None, t=1):
        """Build step ``t`` of every layer (scopes "layer=l/t=t"): layer l's output is layer
        l+1's input. Returns the step's dict keyed "layer1.I", ..., plus the input "X"."""
        x_shape = np.shape(x_t.value if isinstance(x_t, tg.Node) else x_t)
        if len(x_shape) != len(self.input_shape(1)):
            raise tg.ShapeError(f"Stacked: input {self.INPUT!r} at t={t} must have shape {self.input_shape_text()}, "
                                f"got {x_shape}")
        previous = self._previous(state, self._batch_of(x_shape))
        nodes, x = {}, x_t
        for l, cell in enumerate(self._layers, start=1):
            mine = {k: previous[layer_key(l, k)] for k in cell.STATE}
            with tg.scope(tg.layer_scope(l)):
                inner = cell.step(x, mine, t)
            nodes.update({layer_key(l, k): v for k, v in inner.items()})
            x = inner[cell.OUTPUT]
        nodes[self.INPUT] = nodes[layer_key(1, self._layers[0].INPUT)]
        return nodes


VARIANTS = {"blog": BlogLSTM, "paper": PaperLSTM, "peephole": PeepholeLSTM, "rnn": VanillaRNN, "gru": GRU}


def variant_of(cell):
    """The variant name ("blog", "gru", ...) of a cell, or of a stack whose layers are all one kind."""
    kinds = {type(c) for c in cell.layers}
    names = [name for name, cls in VARIANTS.items() if kinds == {cls}]
    if not names:
        raise ValueError(f"variant_of: the layers are of different kinds {sorted(k.__name__ for k in kinds)}")
    return names[0]


def make_cell(variant, input_size, hidden_size, seed=0, num_layers=1, **options):
    """A cell by variant name: ``make_cell("blog", d, h)``; options go to the class
    (``dtype``; for "paper" also the activations ``f_iota`` ... ``f_h``). With
    ``num_layers`` L > 1, a ``Stacked`` of L such cells (``Stacked.of``)."""
    if variant not in VARIANTS:
        raise ValueError(f"make_cell: unknown variant {variant!r}; choose one of {list(VARIANTS)}")
    if num_layers != 1:
        return Stacked.of(variant, input_size, hidden_size, num_layers, seed=seed, **options)
    return VARIANTS[variant](input_size, hidden_size, seed=seed, **options)
