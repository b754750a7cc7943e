# %% [markdown]
# # 1 · Autodiff from scratch
#
# A neural network is a long formula. Training it needs the derivative of one number, the
# loss $L$, with respect to every parameter. **Reverse-mode automatic differentiation**
# (backpropagation) gets all of them in one backward sweep through the formula's
# **computational graph**, at about the cost of computing the formula once.
#
# This notebook builds that idea from the ground up with `tinygraph`, a small autodiff
# engine on numpy whose every step can be drawn and inspected:
#
# 1. a scalar expression and its graph,
# 2. the forward pass: values in topological order,
# 3. the backward pass by hand, then by tinygraph, one node at a time,
# 4. a *diamond*: a value used twice receives the sum of its gradients,
# 5. broadcasting: a value copied along an axis receives the sum over the copies.
#
# **Notation.** For any value $v$ in the graph, $\bar v = \partial L / \partial v$ is its
# *gradient* (also called its *adjoint*): how much $L$ changes per unit change of $v$.

# %%
import numpy as np

import tinygraph as tg
from tinygraph.notebook import Stepper

# %% [markdown]
# ## 1. A scalar expression and its graph
#
# Take three numbers $x, y, z$ and the expression
#
# $$L = \tanh(x\,y + z).$$
#
# Give every intermediate result a name, as you would on paper:
#
# $$u = x\,y, \qquad v = u + z, \qquad L = \tanh(v).$$
#
# `tg.parameter` makes a *leaf* whose gradient we want; every operation on nodes records
# a new node that remembers its op and its inputs.

# %%
x = tg.parameter(0.5, name="x")
y = tg.parameter(-1.5, name="y")
z = tg.parameter(1.0, name="z")

u = (x * y).named("u")
v = (u + z).named("v")
L = tg.tanh(v).named("L")
L

# %% [markdown]
# The graph: **values** are boxes (name, shape, value), **ops** are small circles with the
# op's symbol. Parameters are orange, the output is green.

# %%
tg.draw(L)

# %% [markdown]
# ## 2. The forward pass, in topological order
#
# Each node was computed when it was created, so the values are already there. The order
# in which they can be computed is a **topological order** of the graph: every node comes
# after all of its inputs. `tg.topological_order` finds one (iteratively, so a graph of a
# hundred thousand nodes needs no recursion).

# %%
for node in tg.topological_order(L):
    inputs = ", ".join(p.label() for p in node.inputs) or "leaf"
    print(f"{node.label():>2} = {node.value.item(): .4f}    ({node.op.name if node.op else 'parameter'} of {inputs})")

# %% [markdown]
# ## 3. The backward pass
#
# ### By hand
#
# The chain rule, applied from the output back to the leaves. Start with
# $\bar L = \partial L/\partial L = 1$; then each node passes its gradient to its inputs,
# multiplied by the *local* derivative of its op:
#
# $$
# \begin{aligned}
# \bar v &= \bar L \,(1 - \tanh^2 v) && \text{(tanh)}\\
# \bar u &= \bar v, \qquad \bar z = \bar v && \text{(addition passes the gradient on unchanged)}\\
# \bar x &= \bar u\, y, \qquad \bar y = \bar u\, x && \text{(product: each factor gets the other one)}
# \end{aligned}
# $$
#
# The order matters: we may only use $\bar v$ once *all* of $v$'s consumers have sent
# their part. The reversed topological order guarantees exactly that.
#
# **Exercise 1.1.** Write the five lines in numpy, with the values `x.value`, `y.value`,
# `v.value` of the graph (the check cell below compares them with tinygraph's).

# %%
L_bar = 1.0
### BEGIN SOLUTION
v_bar = L_bar * (1 - np.tanh(v.value) ** 2)
u_bar = v_bar
z_bar = v_bar
x_bar = u_bar * y.value
y_bar = u_bar * x.value
### END SOLUTION

# %% [markdown]
# ### By tinygraph
#
# `tg.backward(L)` runs the same sweep and stores $\bar n$ in `n.grad` for every node $n$.
# The check: each of your gradients against tinygraph's.

# %%
from lstm.exercises import check

tg.backward(L)
print(f"tinygraph: x̄ = {x.grad:.6f}, ȳ = {y.grad:.6f}, z̄ = {z.grad:.6f}")
check("v̄", v_bar, v.grad, hint="tanh'(v) = 1 - tanh²(v)")
check("ū", u_bar, u.grad, hint="a sum passes its gradient on unchanged")
check("z̄", z_bar, z.grad, hint="a sum passes its gradient on unchanged")
check("x̄", x_bar, x.grad, hint="a product sends each factor the gradient times the other factor")
check("ȳ", y_bar, y.grad, hint="a product sends each factor the gradient times the other factor")

# %% [markdown]
# ### One node at a time
#
# `backward()` is a loop over *steps*, one per node, in reversed topological order.
# A `Stepper` records those steps and shows each one: the graph with the current node
# highlighted in red (nodes still waiting for their gradient are faded), the gradient
# flowing into the node, the **rule** of its op (its vector-Jacobian product, written for
# inputs $a, b$ and output $y$, then written out with this graph's names) and the
# gradients it sends to its inputs.
#
# In Jupyter, the next cell shows buttons and a slider. The stepper never writes `.grad`:
# it records the steps once, so stepping back and forth cannot add anything twice.

# %%
stepper = Stepper(L)
stepper

# %% [markdown]
# The same information without widgets: each step as text, and any step as a drawing with
# its numbers (this is what the widget shows, computed by the same functions).

# %%
for view in stepper:
    print(view, end="\n\n")

# %%
stepper[stepper.index_of("u")]

# %% [markdown]
# ### Checking the gradients
#
# A gradient can always be checked by nudging an input: for a small $\varepsilon$,
# $\;\bar x \approx \dfrac{L(x+\varepsilon) - L(x-\varepsilon)}{2\varepsilon}$ (central differences).
# `tg.gradcheck` does this for every entry of every input.

# %%
report = tg.gradcheck(lambda x, y, z: tg.tanh(x * y + z), [0.5, -1.5, 1.0], names=["x", "y", "z"])
print(report)
assert report.ok

# %% [markdown]
# ## 4. A diamond: a value used twice
#
# In $y = a\,b + a$ the leaf $a$ feeds two ops. Change $a$ a little and $y$ changes
# through **both** paths, so $\bar a$ is the **sum** of the two contributions:
#
# $$\bar a = \underbrace{\bar y \cdot 1}_{\text{through } +} + \underbrace{\bar y\, b}_{\text{through } \times} = 1 + b.$$
#
# This is why backward *accumulates*: a node's gradient is complete only when every
# consumer has sent its part.
#
# **Exercise 1.2 (predict, then check).** With $a = 2$ and $b = 3$, how large is $\bar a$?
# And how large would it be if backward *overwrote* a gradient instead of adding to it (the
# second part to arrive wins; the product $a\,b$ is computed first, so its part arrives last)?

# %%
### BEGIN SOLUTION
a_bar = 4.0                 # 1 through the +, b = 3 through the ×
a_bar_if_overwritten = 3.0  # only the part from the × would be left
### END SOLUTION

# %%
a = tg.parameter(2.0, name="a")
b = tg.parameter(3.0, name="b")
y2 = (a * b + a).named("y")
diamond = Stepper(y2)
tg.draw(y2, edge_grads=True)

# %% [markdown]
# The red numbers on the edges are the gradients flowing back along them. The step at which
# $a$ receives its gradient lists both parts, in the order they arrive; the check reads them
# from there:

# %%
print(diamond[diamond.index_of(a)])
arrived = [g for _, _, g in diamond.details(diamond.index_of(a)).incoming]
check("ā", a_bar, diamond.gradient(a), hint="add what the + sends and what the × sends")
check("ā if overwritten", a_bar_if_overwritten, arrived[-1], hint="the last part to arrive alone")

# %% [markdown]
# ## 5. Broadcasting: a value copied along an axis
#
# numpy *broadcasts*: in `X @ W + b` with `X` of shape (4, 3), `W` (3, 2) and a bias `b` of
# shape (2,), the bias is added to each of the 4 rows, as if copied 4 times. Each copy
# influences $L$, so $\bar b$ is the **sum over the copies**: the column sums of the gradient
# arriving at the sum. The same rule, in reverse, serves every op: tinygraph's
# `tg.unbroadcast(grad, shape)` sums a gradient back down to the shape of the input.
#
# Below, $L = \sum_{ij} \tanh(XW + b)_{ij}$. By hand: $\bar Y = 1 - \tanh^2(Y)$ for the
# pre-activation $Y = XW + b$, then $\bar W = X^\top \bar Y$ and $\bar b = \sum_{\text{rows}} \bar Y$.

# %%
rng = np.random.default_rng(0)
X = tg.tensor(rng.normal(size=(4, 3)), name="X")
W = tg.parameter(rng.normal(size=(3, 2)), name="W")
bias = tg.parameter(np.zeros(2), name="b")
Y = (X @ W + bias).named("Y")
loss = tg.tanh(Y).sum().named("L")
tg.backward(loss)

Y_bar = 1 - np.tanh(Y.value) ** 2              # ∂L/∂Y, shape (4, 2)

# %% [markdown]
# **Exercise 1.3.** From `Y_bar` and `X.value`, compute $\bar b$ (shape (2,)) and $\bar W$
# (shape (3, 2)) with numpy.

# %%
### BEGIN SOLUTION
b_bar = Y_bar.sum(axis=0)
W_bar = X.value.T @ Y_bar
### END SOLUTION

# %%
print("b̄ tinygraph:", bias.grad)
check("b̄", b_bar, bias.grad, hint="the bias was copied to each of the 4 rows: sum over the rows")
check("W̄", W_bar, W.grad, hint="for Y = X W, W̄ = Xᵀ Ȳ")

# %% [markdown]
# In the drawing, the bias (shape 2) meets the product (shape 4×2) at the `+`; the gradient
# it gets back has been summed down to its own shape. `X` is a blue *input*: a
# `tg.tensor`, which needs no gradient, so backward never visits it.

# %%
tg.draw(loss)

# %% [markdown]
# ## What to remember
#
# - A formula is a graph of values and ops; the forward pass evaluates it in topological order.
# - Backward walks the reversed order. Each op applies its **local rule** (a vector-Jacobian
#   product) to the gradient of its output and sends the results to its inputs.
# - A value used several times (a diamond) or copied by broadcasting gets the **sum** of the
#   gradients of its uses.
# - Finite differences check any gradient.
#
# Next: [2 · The LSTM cell as a graph](02_lstm_cell_as_a_graph.ipynb).
