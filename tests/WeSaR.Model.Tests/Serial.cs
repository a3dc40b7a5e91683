// Initialisation draws from LibTorch's process-wide generator: tests that seed it and build a model must not
// interleave with each other, so this assembly's tests run one at a time (about a second in all).
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
