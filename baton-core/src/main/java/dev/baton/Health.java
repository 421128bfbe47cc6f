package dev.baton;

import java.util.Objects;

/**
 * A master's or node's answer to a health check ({@link Probe#health}, {@code bin/baton health}).
 *
 * @param serving whether it takes work: false once it is closing (a node draining its calls, a master shutting
 *                down)
 * @param role    {@code "master"} or {@code "node"}
 * @param detail  one line for people: why it is not serving, or what is degraded while it serves (a node that
 *                lost its registry serves with its last membership); empty when all is well
 */
public record Health(boolean serving, String role, String detail) {

    public Health {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(detail, "detail");
    }
}
