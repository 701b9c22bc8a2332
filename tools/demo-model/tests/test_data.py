import dataclasses
import re
import unittest

import numpy as np

import _paths  # noqa: F401
import data


def swap_colour(caption: str, old: str, new: str) -> str:
    words = caption.split()
    i = words.index(old)
    words[i] = new
    return " ".join(words)


class SceneGeneration(unittest.TestCase):
    def test_the_same_split_and_seed_give_the_same_scene_and_pixels(self):
        for seed in (0, 5, 123):
            a, b = data.make_scene("train", seed), data.make_scene("train", seed)
            self.assertEqual(a, b)
            self.assertTrue(np.array_equal(data.render(a, 64), data.render(b, 64)))
        self.assertNotEqual(data.make_scene("train", 1).caption, data.make_scene("train", 2).caption)

    def test_images_have_the_requested_size_and_are_uint8_rgb(self):
        for size in (64, 128):
            image = data.render(data.make_scene("train", 3), size)
            self.assertEqual(image.shape, (size, size, 3))
            self.assertEqual(image.dtype, np.uint8)

    def test_captions_parse_back_to_the_scene_they_describe(self):
        for split in data.SPLITS:
            for seed in range(300):
                scene = data.make_scene(split, seed)
                self.assertEqual(data.parse_caption(scene.caption), scene.spec, scene.caption)

    def test_training_covers_every_colour_shape_position_relation_size_and_gradients(self):
        captions = [data.make_scene("train", s).caption for s in range(1500)]
        text = " ".join(captions)
        for word in data.COLOUR_NAMES + data.SHAPES + ["small", "large", "gradient"]:
            self.assertIn(f" {word} ", f" {text} ", word)
        for phrase in list(data.POSITION_PHRASES.values()) + [f" {r} a " for r in data.RELATIONS] + [" an orange "]:
            self.assertIn(phrase, text)

    def test_parse_rejects_text_outside_the_grammar(self):
        for bad in ["a photo of a cat", "a red circle", "a red blob on the left", "a red circle on the left on a",
                    "a red circle on the left on a plaid background", "red circle on the left"]:
            with self.assertRaises(ValueError, msg=bad):
                data.parse_caption(bad)


class HeldOutSplit(unittest.TestCase):
    def test_training_never_draws_a_heldout_combination(self):
        for seed in range(2000):
            self.assertFalse(data.is_heldout(data.make_scene("train", seed).spec))

    def test_heldout_scenes_are_only_heldout_combinations_of_both_kinds(self):
        scenes = [data.make_scene("heldout", s) for s in range(300)]
        self.assertTrue(all(data.is_heldout(s.spec) for s in scenes))
        kinds = {len(s.spec.objects) for s in scenes}
        self.assertEqual(kinds, {1, 2})

    def test_heldout_captions_are_distinct_state_the_background_and_are_unseen_in_training(self):
        captions = data.heldout_captions(40)
        self.assertEqual(len(set(captions)), 40)
        train = {data.make_scene("train", s).caption for s in range(3000)}
        for caption in captions:
            self.assertIsNotNone(data.parse_caption(caption).background, caption)
            self.assertNotIn(caption, train)

    def test_about_one_in_ten_single_object_triples_is_heldout(self):
        triples = [(c, s, p) for c in data.COLOUR_NAMES for s in data.SHAPES for p in data.POSITIONS]
        held = sum(data.is_heldout(data.SceneSpec((data.ObjectSpec(c, s, p),), None)) for c, s, p in triples)
        self.assertGreater(held, len(triples) * 0.05)
        self.assertLess(held, len(triples) * 0.15)


class Checker(unittest.TestCase):
    def test_every_check_passes_on_the_generators_own_images(self):
        for split in data.SPLITS:
            for seed in range(150):
                scene = data.make_scene(split, seed)
                for check in data.check_image(data.render(scene, 64), scene.caption):
                    self.assertTrue(check.passed, f"{scene.caption}: {check}")

    def test_a_wrong_object_colour_fails_the_colour_check(self):
        failures = 0
        for seed in range(60):
            scene = data.make_scene("train", seed)
            obj = scene.spec.objects[0]
            used = {o.colour for o in scene.spec.objects} | {scene.background.top, scene.background.bottom}
            other = next(c for c in data.COLOUR_NAMES if c not in used)
            checks = data.check_image(data.render(scene, 64), swap_colour(scene.caption, obj.colour, other))
            failures += not next(c for c in checks if c.name.endswith("colour")).passed
        self.assertEqual(failures, 60)

    def test_an_object_in_the_wrong_place_fails_the_placement_check(self):
        opposite = {"left": "right", "right": "left", "top": "bottom", "bottom": "top",
                    "top left": "bottom right", "bottom right": "top left", "top right": "bottom left",
                    "bottom left": "top right"}
        tested = 0
        for seed in range(400):
            scene = data.make_scene("train", seed)
            if len(scene.spec.objects) != 1 or scene.spec.objects[0].place not in opposite:
                continue
            obj = scene.spec.objects[0]
            moved = data.ObjectSpec(obj.colour, obj.shape, opposite[obj.place], obj.size)
            spec = dataclasses.replace(scene.spec, objects=(moved,))
            caption = data.caption_of(dataclasses.replace(spec, background=scene.background))
            checks = {c.name.split()[-1]: c.passed for c in data.check_image(data.render(scene, 64), caption)}
            self.assertFalse(checks["placement"], caption)
            tested += 1
        self.assertGreater(tested, 50)

    def test_swapped_relation_fails_and_a_wrong_background_fails(self):
        swap = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
        for seed in range(200):
            scene = data.make_scene("train", seed)
            image = data.render(scene, 64)
            if len(scene.spec.objects) == 2:
                relation = scene.spec.objects[0].place.split(" ", 1)[1]
                caption = data.caption_of(dataclasses.replace(scene.spec, background=scene.background))
                wrong = re.sub(f" {relation} (an?) ", f" {swap[relation]} \\1 ", caption)
                self.assertNotEqual(wrong, caption)
                checks = {c.name: c.passed for c in data.check_image(image, wrong)}
                self.assertFalse(checks[f"{swap[relation]} placement"], wrong)
            if not scene.background.is_gradient:
                used = {o.colour for o in scene.spec.objects} | {scene.background.top}
                other = next(c for c in data.COLOUR_NAMES if c not in used)
                spec = dataclasses.replace(scene.spec, background=data.Background(other, other))
                checks = {c.name: c.passed for c in data.check_image(image, data.caption_of(spec))}
                self.assertFalse(checks["background"])

    def test_a_blank_image_fails_every_object_check(self):
        for caption in data.heldout_captions(20):
            spec = data.parse_caption(caption)
            blank = np.full((64, 64, 3), data.COLOURS[spec.background.top], dtype=np.uint8)
            for check in data.check_image(blank, caption):
                if check.name != "background":
                    self.assertFalse(check.passed, f"{caption}: {check}")


if __name__ == "__main__":
    unittest.main()
