"""Devices and precisions: autocast on CPU here, CUDA where there is a GPU (skipped otherwise)."""

import pytest
import torch

import pixelrnn

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def small(name, shape=(3, 6, 5)):
    torch.manual_seed(0)
    return pixelrnn.build_model(name, image_shape=shape, levels=16, hidden=12, layers=2, out_hidden=16)


@pytest.mark.parametrize("name", pixelrnn.MODELS)
def test_bf16_autocast_matches_float32(name):
    model = small(name)
    x = torch.randint(0, 16, (2, 3, 6, 5))
    with torch.no_grad():
        exact = model.log_prob(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = model.log_prob(x)
    assert mixed.dtype == torch.float32, "log-likelihoods are accumulated in float32 at least"
    torch.testing.assert_close(mixed, exact, rtol=0.02, atol=0.5)


@cuda
@pytest.mark.parametrize("name", pixelrnn.MODELS)
def test_cuda_matches_cpu_and_samples_exactly(name):
    model = small(name)
    x = torch.randint(0, 16, (2, 3, 6, 5))
    with torch.no_grad():
        on_cpu = model.log_prob(x)
        model = model.cuda()
        torch.testing.assert_close(model.log_prob(x.cuda()).cpu(), on_cpu, rtol=1e-4, atol=1e-3)
        mask = torch.zeros(6, 5, dtype=torch.bool, device="cuda")
        mask[2:, 1:4] = True
        steps = [(s.position, s.probs.clone()) for s in pixelrnn.generate(model, 2, x[0].cuda(), mask, seed=0)]
        final = pixelrnn.sample(model, 2, x[0].cuda(), mask, seed=0)
        probs = torch.softmax(model(final).float(), 1)
    for (c, i, j), p in steps:
        torch.testing.assert_close(p, probs[:, :, c, i, j], atol=1e-4, rtol=0)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        assert torch.isfinite(model.log_prob(x.cuda())).all()
