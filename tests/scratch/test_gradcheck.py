import numpy as np

from profond.scratch.gradcheck import numerical_gradient, relative_error


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    grad = numerical_gradient(lambda: float(np.sum(np.sin(x) * x**2)), x)
    expected = np.cos(x) * x**2 + 2 * x * np.sin(x)
    assert relative_error(grad, expected) < 1e-9
    np.testing.assert_array_equal(x, [[0.3, -1.2], [2.0, 0.5]])  # restored


def test_relative_error_is_scale_free_and_zero_safe():
    a = np.array([1.0, 2.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0
    assert relative_error(1e6 * a, 1e6 * a * (1 + 1e-8)) < 1e-8
    assert relative_error(a, -a) == 1.0


def test_rounding_noise_around_a_true_zero_counts_as_equal():
    assert relative_error(np.array([1e-18, -3e-18]), np.zeros(2)) < 1e-6
