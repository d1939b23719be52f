"""dof_helpers: the shared package of the degrees-of-freedom book.

Reproduces and extends Larsen, Fort, Becker & Ganguli, "How many degrees of freedom do
we need to train deep networks: a loss landscape perspective" (ICLR 2022).

Modules (import the one you need; nothing heavy is imported here):

- ``data``       datasets as normalised arrays, batches from explicit keys
- ``models``     Conv-2, Conv-3, ResNet20v1, MLP 784-200-200-10 (Flax)
- ``subspace``   w(theta) = w_t + A theta with dense, Fastfood and orthonormal bases (eq. 2.2)
- ``optim``      Adam (standard and the original code's variant), momentum SGD
- ``train``      jitted steps, epochs, evaluation, batched runs
- ``engine``     the experiment engine: any model, any data, the nine methods, resumable
                 sweeps over (method, d, t, seed) with fingerprinted run keys, executors
- ``batched``    many runs at once (vmap over runs, sharded over devices)
- ``pruning``    masks and masked training (lottery tickets, random pruning)
- ``taxonomy``   the eight methods of Table 1 side by side
- ``escape``     cones, random subspaces, Gordon's escape theorem
- ``angular``    local angular dimension of a quadratic sublevel set (Definition 3.2)
- ``baselines``  the full model at the better of two learning rates
- ``chapters``   each chapter's parameters, grids, claims, figures and command line
- ``thresholds`` success probability P_s (eq. 2.3), d* (Definition 2.1), d_int90
- ``geometry``   Gaussian width, Gordon's escape theorem, local angular dimension
- ``quadratic``  the quadratic-well experiments (Section 3.2)
- ``linearised`` the linearised network f(w_opt) + J(w_opt)(w - w_opt) as a model (Appendix A.1)
- ``curvature``  Jacobians, the exact Gauss-Newton matrix, Hessian- and GGN-vector products
- ``lanczos``    Lanczos with full reorthogonalisation, stochastic Lanczos quadrature
- ``basin``      threshold dimensions predicted from a real curvature spectrum (eq. 3.4, d_local)
- ``records``    crash-safe JSON-lines records
- ``plotting``   the house style and every figure type
- ``runner``     execute a chapter with papermill, optionally with a preset
"""
__version__ = "0.1.0"
