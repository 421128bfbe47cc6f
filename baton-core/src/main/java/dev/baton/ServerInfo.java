package dev.baton;

/**
 * One server instance of a named service.
 *
 * @param service   the service name
 * @param serviceId the numeric id the master gave the service (what travels on the wire)
 * @param serverId  the server's id within the service: 0, 1, 2, ... unless the server asked for one
 * @param rank      the rank of the node that hosts it
 */
public record ServerInfo(String service, int serviceId, int serverId, int rank) {
}
