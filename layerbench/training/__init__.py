"""The training application of the model library (:mod:`layerbench.models`).

``layerbench train`` (:mod:`.train`, its Hydra schema :mod:`.train_schema`, checkpoints
:mod:`.checkpoint`), its data (:mod:`.trainset`: scikit-image photographs;
:mod:`.trainset_mri`: brain MRI slices degraded as the MRI experiment) and the model card
made from its runs: :mod:`.evaluate` scores models on the photographs held out from training
(it needs the training split, so it lives beside it) and :mod:`.train_report` draws the
validation curves. The library never imports this package.

``layerbench/models`` keeps what builds, loads and runs a model: the architectures, the
graph, planned inference, weight formats, presets, the Keras peer, and the two measurements
of the library itself (``measure``: time and peak memory of a forward; ``peer_compare``:
backends against the Keras peer), which use no training data.
"""
